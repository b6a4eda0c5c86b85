package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testSecret  = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	warnSnippet = "secret on the command line"
)

// shownSecret is the secret dms tsig show gives for key name.
func shownSecret(t *testing.T, db, name string) (secret, alg string) {
	t.Helper()
	r := run(t, db, "", "tsig", "show", name, "-o", "json")
	var k struct{ Secret, Algorithm string }
	if r.code != 0 || json.Unmarshal([]byte(r.out), &k) != nil {
		t.Fatalf("tsig show %s: %s %s", name, r.out, r.err)
	}
	return k.Secret, k.Algorithm
}

// TestTSIGImportSecretFile: dms tsig import takes the secret from a file
// (bare, or a key statement) or standard input without a warning and
// without printing it back; the old positional form still works and
// warns on standard error, naming the safer form.
func TestTSIGImportSecretFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	bare := writeFile(t, dir, "bare.secret", testSecret+"\n")
	bind := writeFile(t, dir, "k.key", "key \"k\" {\n\talgorithm hmac-sha512;\n\tsecret \""+testSecret+testSecret+"\";\n};\n")
	for _, c := range []struct {
		name, stdin, alg string
		args             []string
	}{
		{"file", "", "hmac-sha256", []string{"tsig", "import", "file", "--secret-file", bare}},
		{"stdin", testSecret + "\n", "hmac-sha256", []string{"tsig", "import", "stdin", "--secret-file", "-"}},
		{"statement", "", "hmac-sha512", []string{"tsig", "import", "statement", "--secret-file", bind}},
		{"statement-stdin", "key \"k\" {\n\talgorithm hmac-sha512;\n\tsecret \"" + testSecret + testSecret + "\";\n};\n", "hmac-sha512", []string{"tsig", "import", "statement-stdin", "--secret-file", "-"}},
	} {
		r := run(t, db, c.stdin, c.args...)
		if r.code != 0 {
			t.Fatalf("%s: %s", c.name, r.err)
		}
		if strings.Contains(r.err, warnSnippet) || strings.Contains(r.out, testSecret) || !strings.Contains(r.out, "imported TSIG key "+c.name) {
			t.Errorf("%s: stdout %q stderr %q: want no warning and no secret", c.name, r.out, r.err)
		}
		if sec, alg := shownSecret(t, db, c.name); !strings.HasPrefix(sec, testSecret) || alg != c.alg {
			t.Errorf("%s: stored %s %s", c.name, alg, sec)
		}
	}
	r := run(t, db, "", "tsig", "import", "positional", testSecret)
	if r.code != 0 || !strings.Contains(r.err, warnSnippet) || !strings.Contains(r.err, "--secret-file") {
		t.Errorf("positional import: exit %d, stderr %q: want it done with a warning naming --secret-file", r.code, r.err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tsig", "import", "x"}, "give the secret: --secret-file FILE"},
		{[]string{"tsig", "import", "x", testSecret, "--secret-file", bare}, "not both"},
		{[]string{"tsig", "import", "x", "--secret-file", bind, "--alg", "hmac-sha256"}, "names algorithm hmac-sha512"},
		{[]string{"tsig", "import", "x", "--secret-file", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"tsig", "import", "x", "--secret-file", writeFile(t, dir, "two", "secret \"a\";\nsecret \"b\";\n")}, "more than one key"},
		{[]string{"tsig", "import", "x", "--secret-file", "-"}, "it is empty"},
	} {
		r := run(t, db, "", c.args...)
		if r.code == 0 || !strings.Contains(r.err, c.want) || strings.Contains(r.err, warnSnippet) {
			t.Errorf("dms %s: exit %d, stderr %q; want an error saying %q", strings.Join(c.args, " "), r.code, r.err, c.want)
		}
	}
}

// TestTSIGCreateKeyFile: dms tsig create --key-file writes the key to a
// new 0600 file and prints no secret; an existing file is refused (and no
// key made) unless --force, which replaces it with a 0600 file whatever
// the old mode; the file imports back into another store.
func TestTSIGCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	file := filepath.Join(dir, "xfr.key")
	r := run(t, db, "", "tsig", "create", "xfr", "--key-file", file)
	if r.code != 0 {
		t.Fatal(r.err)
	}
	secret, _ := shownSecret(t, db, "xfr")
	checkKeyFile(t, file, secret, `key "xfr" {`)
	if strings.Contains(r.out+r.err, secret) || strings.Contains(r.err, warnSnippet) || !strings.Contains(r.out, "written to "+file) {
		t.Errorf("tsig create --key-file: stdout %q stderr %q", r.out, r.err)
	}

	r = run(t, db, "", "tsig", "create", "xfr2", "--key-file", file)
	if r.code == 0 || !strings.Contains(r.err, "already exists") || !strings.Contains(r.err, "--force") {
		t.Errorf("existing file: exit %d %s", r.code, r.err)
	}
	if r := run(t, db, "", "tsig", "show", "xfr2"); r.code == 0 {
		t.Error("a key was made though its file was refused")
	}
	checkKeyFile(t, file, secret, `key "xfr" {`)

	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, db, "", "tsig", "create", "xfr2", "--key-file", file, "--force", "--key-format", "knot", "-o", "json")
	secret2, _ := shownSecret(t, db, "xfr2")
	if r.code != 0 || strings.Contains(r.out, secret2) || !strings.Contains(r.out, `"file"`) {
		t.Errorf("--force -o json: exit %d stdout %q stderr %q", r.code, r.out, r.err)
	}
	checkKeyFile(t, file, secret2, "  - id: xfr2\n")

	other := filepath.Join(dir, "other.db")
	if r := run(t, other, "", "tsig", "import", "xfr2", "--secret-file", file); r.code != 0 {
		t.Fatalf("import the written file: %s", r.err)
	}
	if got, _ := shownSecret(t, other, "xfr2"); got != secret2 {
		t.Errorf("imported secret %q, want %q", got, secret2)
	}
	for _, args := range [][]string{
		{"tsig", "create", "x", "--key-file", "-"},
		{"tsig", "create", "x", "--key-file", filepath.Join(dir, "f"), "--key-format", "json"},
		{"tsig", "create", "x", "--force"},
	} {
		if r := run(t, db, "", args...); r.code == 0 {
			t.Errorf("dms %s accepted", strings.Join(args, " "))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "f")); err == nil {
		t.Error("a refused --key-format left a file")
	}
}

// checkKeyFile: file has mode 0600 and holds secret in a statement
// starting with head.
func checkKeyFile(t *testing.T, file, secret, head string) {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	if fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), secret) || !strings.Contains(string(b), head) {
		t.Errorf("%s: mode %v, content:\n%s\nwant 0600 and the secret %s", file, fi.Mode().Perm(), b, secret)
	}
}

// TestAPIUserPasswordNoFlag: passwords of API logins never come as
// arguments: there is no flag for them; standard input gives them.
func TestAPIUserPasswordNoFlag(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	for _, args := range [][]string{
		{"api", "user", "add", "p", "--sectag", "Admin", "--password", "panel-password-1"},
		{"api", "user", "passwd", "p", "--password", "panel-password-1"},
		{"api", "user", "add", "p", "panel-password-1", "--sectag", "Admin"},
	} {
		if r := run(t, db, "panel-password-1\n", args...); r.code != 2 {
			t.Errorf("dms %s: exit %d, want a usage error", strings.Join(args, " "), r.code)
		}
	}
	if r := run(t, db, "", "api", "user", "add", "p", "--sectag", "Admin"); r.code == 0 || !strings.Contains(r.err, "no password on standard input") {
		t.Errorf("no password: %d %s", r.code, r.err)
	}
	if r := run(t, db, "panel-password-1\n", "api", "user", "add", "p", "--sectag", "Admin"); r.code != 0 || strings.Contains(r.out+r.err, "panel-password-1") {
		t.Errorf("password on stdin: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, db, "panel-password-2\n", "api", "user", "passwd", "p"); r.code != 0 || strings.Contains(r.out+r.err, "panel-password-2") {
		t.Errorf("passwd on stdin: %d %s %s", r.code, r.out, r.err)
	}
}

// onTerminal runs dms with args on a terminal (a pty from script(1)),
// answering each prompt in turn once it shows (sooner, the terminal would
// echo the answer before dms turns echo off), and returns what the
// terminal showed.
func onTerminal(t *testing.T, db string, args []string, prompts, answers []string) string {
	t.Helper()
	script := tool(t, "script", "bsdutils")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qfec", dmsBin+" --db "+db+" "+strings.Join(args, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "DMS_DB=")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pos := 0 // what was shown up to the last prompt answered
	for i, p := range prompts {
		for !strings.Contains(out.String()[pos:], p) {
			if ctx.Err() != nil {
				t.Fatalf("no prompt %q:\n%s", p, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		pos += strings.Index(out.String()[pos:], p) + len(p)
		io.WriteString(in, answers[i]+"\r")
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return out.String()
}

// TestSecretsOnTerminal: on a terminal, --secret-file - and the API
// password are prompted for, and what is typed is not echoed.
func TestSecretsOnTerminal(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	shown := onTerminal(t, db, []string{"tsig", "import", "k", "--secret-file", "-"}, []string{"secret (base64): "}, []string{testSecret})
	if strings.Contains(shown, testSecret) || !strings.Contains(shown, "imported TSIG key k (") {
		t.Errorf("tsig import on a terminal showed:\n%s", shown)
	}
	if sec, _ := shownSecret(t, db, "k"); sec != testSecret {
		t.Errorf("stored secret %q", sec)
	}
	shown = onTerminal(t, db, []string{"api", "user", "add", "p", "--sectag", "Admin"}, []string{"password: ", "again: "}, []string{"panel-password-1", "panel-password-1"})
	if strings.Contains(shown, "panel-password-1") || !strings.Contains(shown, "added API login p") {
		t.Errorf("api user add on a terminal showed:\n%s", shown)
	}
}
