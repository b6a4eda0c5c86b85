package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"dmsdns.org/dms/admin"
)

// TSIG secrets in files: a secret given as an argument is visible to every
// user of the host (ps, /proc/PID/cmdline) and stays in shell history, so
// dms tsig import reads it from a file or standard input, and dms tsig
// create can write the new key to a file instead of standard output.

// maxKeyFile bounds what is read as a key file: a key statement is a few
// hundred bytes; anything much larger is the wrong file.
const maxKeyFile = 64 << 10

// warnSecretArg is printed when a secret comes as an argument.
const warnSecretArg = "dms: warning: a secret on the command line can be read by other users of this host (ps, /proc) and stays in shell history; use dms tsig import NAME --secret-file FILE (or --secret-file - for standard input)\n"

// reKeyField finds the secret and algorithm of a key statement, in BIND's
// and NSD's syntax (secret "X";) and Knot's (secret: X).
var reKeyField = regexp.MustCompile(`(?m)^[ \t]*(secret|algorithm)[ \t]*:?[ \t]*"?([^"\s;]+)"?[ \t]*;?[ \t]*$`)

// parseKeyText reads a TSIG key file: a bare base64 secret, or one key
// statement as tsig-keygen, keymgr -t or dms tsig create --key-file write
// it (BIND, NSD or Knot syntax). alg is "" when the text names none.
func parseKeyText(text string) (secret, alg string, err error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", "", errors.New("it is empty")
	}
	if !strings.ContainsAny(text, " \t\r\n") {
		return strings.Trim(text, `"`), "", nil
	}
	for _, m := range reKeyField.FindAllStringSubmatch(text, -1) {
		v := &secret
		if m[1] == "algorithm" {
			v = &alg
		}
		if *v != "" {
			return "", "", errors.New("it holds more than one key; give a file with one")
		}
		*v = m[2]
	}
	if secret == "" {
		return "", "", errors.New("no secret in it: give a file with the base64 secret alone, or a key statement as tsig-keygen prints it")
	}
	return secret, alg, nil
}

// readSecretFile reads a key file (path "-": standard input, prompted for
// without echo on a terminal) and returns its secret and algorithm.
func (f *Factory) readSecretFile(path string) (secret, alg string, err error) {
	var text []byte
	switch {
	case path == "-" && f.isTerminal():
		in := f.In.(*os.File)
		fmt.Fprint(f.Err, "secret (base64): ")
		text, err = term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(f.Err)
	case path == "-":
		text, err = io.ReadAll(io.LimitReader(bufio.NewReader(f.In), maxKeyFile+1))
	default:
		text, err = readLimited(path)
	}
	if err != nil {
		return "", "", fmt.Errorf("read the secret from %s: %w", path, err)
	}
	if len(text) > maxKeyFile {
		return "", "", usageError{fmt.Errorf("--secret-file %s: larger than %d bytes; give the key file itself", path, maxKeyFile)}
	}
	secret, alg, err = parseKeyText(string(text))
	if err != nil {
		return "", "", usageError{fmt.Errorf("--secret-file %s: %v", path, err)}
	}
	return secret, alg, nil
}

func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, maxKeyFile+1))
}

// isTerminal says whether standard input is a terminal.
func (f *Factory) isTerminal() bool {
	in, ok := f.In.(*os.File)
	return ok && term.IsTerminal(int(in.Fd()))
}

// importSecret is the secret of dms tsig import: from --secret-file, or
// (with a warning) the second argument. algFlag is --alg when given; a key
// file naming another algorithm is refused.
func (f *Factory) importSecret(args []string, file, algFlag string) (secret, alg string, err error) {
	switch {
	case len(args) == 2 && file != "":
		return "", "", usageError{errors.New("give the secret with --secret-file or as an argument, not both")}
	case len(args) == 2:
		fmt.Fprint(f.Err, warnSecretArg)
		return args[1], algFlag, nil
	case file == "":
		return "", "", usageError{errors.New("give the secret: --secret-file FILE, or --secret-file - to read it from standard input")}
	}
	secret, alg, err = f.readSecretFile(file)
	if err != nil {
		return "", "", err
	}
	switch {
	case alg == "":
		alg = algFlag
	case algFlag != "" && !strings.EqualFold(strings.TrimSuffix(alg, "."), strings.TrimSuffix(algFlag, ".")):
		return "", "", usageError{fmt.Errorf("--alg %s, but %s names algorithm %s", algFlag, file, alg)}
	}
	return secret, alg, nil
}

// keyFile is a key file being written: created 0600 before the key is
// made (so an existing file is refused before the store changes), and
// given its content after.
type keyFile struct {
	fh   *os.File
	path string
	// tmp: fh is a temporary file in path's directory that replaces path
	// when written (--force).
	tmp bool
}

// createKeyFile opens path for a new key: it must not exist unless force.
func createKeyFile(path string, force bool) (*keyFile, error) {
	if path == "-" {
		return nil, usageError{errors.New("--key-file takes a file; without it the key is printed on standard output")}
	}
	if !force {
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return nil, &admin.Error{Code: admin.CodeExists, Message: fmt.Sprintf("--key-file %s already exists", path),
				Hint: "give another file, or --force to replace it"}
		}
		if err != nil {
			return nil, fmt.Errorf("--key-file: %w", err)
		}
		return &keyFile{fh: fh, path: path}, nil
	}
	// A new file renamed over the old one: whatever mode or owner the old
	// one had, the key never sits in a file others may read.
	fh, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("--key-file: %w", err)
	}
	return &keyFile{fh: fh, path: path, tmp: true}, nil
}

// write gives the file its content and puts it in place.
func (k *keyFile) write(text string) error {
	_, err := k.fh.WriteString(text)
	if err == nil {
		err = k.fh.Sync()
	}
	if cerr := k.fh.Close(); err == nil {
		err = cerr
	}
	if err == nil && k.tmp {
		err = os.Rename(k.fh.Name(), k.path)
	}
	if err != nil {
		os.Remove(k.fh.Name())
	}
	return err
}

// abort removes the file (the key was not made).
func (k *keyFile) abort() {
	k.fh.Close()
	os.Remove(k.fh.Name())
}

func newCmdTSIGCreate(f *Factory) *cobra.Command {
	var alg, file, format string
	var force bool
	cmd := &cobra.Command{
		Use:   "create NAME [--key-file FILE [--key-format bind|knot|nsd] [--force]]",
		Short: "Generate a key with a random secret and print it, or write it to a file",
		Long: `Generate a key with a random secret. Without --key-file the key is printed
in BIND, Knot and NSD syntax. With --key-file it is written to a new file
of mode 0600 instead (an existing file is refused unless --force), as a key
statement that named.conf (include "FILE";), knot.conf (include: FILE) or
nsd.conf (include: "FILE") can include, by --key-format (default bind, the
form tsig-keygen prints and nsupdate -k reads); nothing secret is printed.
dms tsig import --secret-file reads such a file back.`,
		Example: "  dms tsig create xfr-ns2 --key-file /etc/bind/xfr-ns2.key\n  dms tsig create xfr-ns3 --alg hmac-sha512 --key-file xfr-ns3.conf --key-format knot\n  dms tsig create xfr-ns4",
		Args:    exactArgs(1, "the key name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.TSIGRequest{Name: args[0], Algorithm: alg}
			if file == "" {
				if cmd.Flags().Changed("key-format") || force {
					return usageError{errors.New("--key-format and --force go with --key-file")}
				}
				return run(cmd.Context(), f, true, "tsig.create", req, printTSIG)
			}
			return f.tsigCreateToFile(cmd.Context(), req, file, format, force)
		},
	}
	cmd.Flags().StringVar(&alg, "alg", "hmac-sha256", "algorithm: hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1")
	cmd.Flags().StringVar(&file, "key-file", "", "write the key to this new file (mode 0600) instead of printing it")
	cmd.Flags().StringVar(&format, "key-format", "bind", "syntax of --key-file: bind, knot or nsd")
	cmd.Flags().BoolVar(&force, "force", false, "with --key-file: replace an existing file")
	return cmd
}

// tsigCreateToFile makes a key and writes it to file, printing what it
// did without the secret.
func (f *Factory) tsigCreateToFile(ctx context.Context, req admin.TSIGRequest, file, format string, force bool) error {
	pick := map[string]func(*admin.TSIGInfo) string{
		"bind": func(k *admin.TSIGInfo) string { return k.BIND },
		"knot": func(k *admin.TSIGInfo) string { return k.Knot },
		"nsd":  func(k *admin.TSIGInfo) string { return k.NSD },
	}[format]
	if pick == nil {
		return usageError{fmt.Errorf("--key-format %q: bind, knot or nsd", format)}
	}
	kf, err := createKeyFile(file, force)
	if err != nil {
		return err
	}
	var k admin.TSIGInfo
	if err := f.call(ctx, true, "tsig.create", req, &k); err != nil {
		kf.abort()
		return err
	}
	if err := kf.write(pick(&k)); err != nil {
		return &admin.Error{Code: admin.CodeInternal, Message: fmt.Sprintf("key %s made, but writing %s failed: %v", k.Name, file, err),
			Hint: fmt.Sprintf("dms tsig show %s prints it; or dms tsig delete %s and create it again", k.Name, k.Name)}
	}
	k.Secret, k.BIND, k.Knot, k.NSD = "", "", "", ""
	if f.json() {
		return f.printJSON(struct {
			admin.TSIGInfo
			File string `json:"file"`
		}{k, file})
	}
	fmt.Fprintf(f.Out, "created TSIG key %s (%s), written to %s (mode 0600, %s syntax)\n", k.Name, k.Algorithm, file, format)
	return nil
}

func newCmdTSIGImport(f *Factory) *cobra.Command {
	var alg, file string
	cmd := &cobra.Command{
		Use:   "import NAME --secret-file FILE|-",
		Short: "Store a key made elsewhere (base64 secret, or the key statement tsig-keygen prints)",
		Long: `Store a key made elsewhere. --secret-file names a file holding the base64
secret alone, or one key statement as BIND's tsig-keygen, Knot's keymgr -t
or dms tsig create --key-file write it (its algorithm is then the key's);
--secret-file - reads it from standard input (prompted for without echo on
a terminal). The secret is not printed back. The old form with the secret
as a second argument still works, with a warning: arguments are visible
to every user of the host.`,
		Example: "  dms tsig import xfr-ns2 --secret-file /etc/bind/xfr-ns2.key\n  tsig-keygen xfr-ns2 | dms tsig import xfr-ns2 --secret-file -",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("%s takes the key name and --secret-file FILE", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			algFlag := ""
			if cmd.Flags().Changed("alg") {
				algFlag = alg
			}
			secret, keyAlg, err := f.importSecret(args, file, algFlag)
			if err != nil {
				return err
			}
			req := admin.TSIGRequest{Name: args[0], Algorithm: keyAlg, Secret: secret}
			if file == "" {
				return run(cmd.Context(), f, true, "tsig.import", req, printTSIG)
			}
			return f.tsigImportQuiet(cmd.Context(), req)
		},
	}
	cmd.Flags().StringVar(&alg, "alg", "hmac-sha256", "algorithm of the key (default: the key file's, else hmac-sha256)")
	cmd.Flags().StringVar(&file, "secret-file", "", "file with the secret or a key statement; - for standard input")
	return cmd
}

// tsigImportQuiet imports a key read from a file and prints it without
// its secret: whoever kept it off the command line wants it off the
// screen (and out of logs of scripts) too.
func (f *Factory) tsigImportQuiet(ctx context.Context, req admin.TSIGRequest) error {
	var k admin.TSIGInfo
	if err := f.call(ctx, true, "tsig.import", req, &k); err != nil {
		return err
	}
	k.Secret, k.BIND, k.Knot, k.NSD = "", "", "", ""
	if f.json() {
		return f.printJSON(k)
	}
	fmt.Fprintf(f.Out, "imported TSIG key %s (%s); dms tsig show %s prints it for BIND, Knot and NSD\n", k.Name, k.Algorithm, k.Name)
	return nil
}
