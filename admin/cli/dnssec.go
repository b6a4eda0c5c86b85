package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
)

func newCmdDNSSEC(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dnssec",
		Short: "Sign zones: enable, keys, DS for the parent, import BIND keys, disable",
		Long: `dms signs zones itself, online: at every commit it signs exactly the RRsets
that changed and mends the NSEC3 chain, in the same transaction, so queries
and transfers never wait on signing and secondaries get small IXFRs.
Defaults: algorithm 13 (ECDSA P-256), one combined signing key (CSK), NSEC3
with no extra iterations and no salt (RFC 9276).`,
	}
	var en admin.DNSSECRequest
	var alg int
	var split, nsec, nsec3 bool
	enable := &cobra.Command{
		Use: "enable ZONE", Short: "Sign a zone (new keys, or the ones imported)",
		Example: "  dms dnssec enable example.org\n  dms dnssec enable example.org --alg 15 --ksk-zsk --nsec3-salt - --opt-out",
		Args:    exactArgs(1, "a zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if nsec && nsec3 && cmd.Flags().Changed("nsec3") {
				return usageError{fmt.Errorf("--nsec and --nsec3 exclude each other")}
			}
			en.Name, en.Algorithm, en.Split, en.NSEC = args[0], uint8(alg), split, nsec
			return run(cmd.Context(), f, true, "dnssec.enable", en, printDNSSEC)
		},
	}
	enable.Flags().IntVar(&alg, "alg", 13, "algorithm: 13 (ECDSAP256SHA256), 15 (ED25519) or 8 (RSASHA256)")
	enable.Flags().BoolVar(&split, "ksk-zsk", false, "a KSK and a ZSK instead of one CSK")
	enable.Flags().Bool("csk", true, "one combined signing key (the default)")
	enable.Flags().BoolVar(&nsec3, "nsec3", true, "deny existence with NSEC3 (the default)")
	enable.Flags().BoolVar(&nsec, "nsec", false, "deny existence with NSEC")
	enable.Flags().Uint16Var(&en.Iterations, "nsec3-iterations", 0, "extra NSEC3 hash iterations (RFC 9276: 0)")
	enable.Flags().StringVar(&en.Salt, "nsec3-salt", "-", "NSEC3 salt in hex, - for none (RFC 9276: none)")
	enable.Flags().BoolVar(&en.OptOut, "opt-out", false, "NSEC3 opt-out: insecure delegations get no NSEC3")
	enable.Flags().StringVar(&en.ShareKeysWith, "share-keys-with", "", "sign with the keys of the zone of the same name in this view (one DS for both views; later rollovers are each view's own)")
	var dsRemoved bool
	disable := &cobra.Command{
		Use: "disable ZONE", Short: "Stop signing a zone, once its parent has no DS for it",
		Long: `Stop signing: the signatures, NSEC3 chain and keys go in one commit. A parent
that still publishes a DS makes the unsigned zone bogus for validators, so
remove the DS at the parent first, wait for its TTL to pass, then run this
with --ds-removed.`,
		Example: "  dms dnssec disable example.org --ds-removed",
		Args:    exactArgs(1, "a zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, true, "dnssec.disable", admin.DNSSECRequest{Name: args[0], DSRemoved: dsRemoved}, printDNSSEC)
		},
	}
	disable.Flags().BoolVar(&dsRemoved, "ds-removed", false, "the DS is gone from the parent and its TTL has passed")
	var digest int
	keys := &cobra.Command{
		Use: "keys ZONE", Short: "List a zone's keys: tag, algorithm, role, state, dates",
		Example: "  dms dnssec keys example.org",
		Args:    exactArgs(1, "a zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "dnssec.keys", admin.DNSSECRequest{Name: args[0]}, printDNSSEC)
		},
	}
	ds := &cobra.Command{
		Use: "ds ZONE", Short: "Print the DS records to give the parent (registrar)",
		Example: "  dms dnssec ds example.org\n  dms dnssec ds example.org --digest 4",
		Args:    exactArgs(1, "a zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "dnssec.keys", admin.DNSSECRequest{Name: args[0], Digest: uint8(digest)}, func(w io.Writer, res *admin.DNSSECInfo) {
				for _, k := range res.Keys {
					for _, d := range k.DS {
						fmt.Fprintln(w, d)
					}
				}
			})
		},
	}
	ds.Flags().IntVar(&digest, "digest", 2, "digest type: 2 (SHA-256) or 4 (SHA-384)")
	imp := &cobra.Command{
		Use: "import ZONE KFILE.key KFILE.private", Short: "Import a key made by BIND's dnssec-keygen (keeps the DS at the parent)",
		Example: "  dms dnssec import example.org Kexample.org.+013+12345.key Kexample.org.+013+12345.private",
		Args:    exactArgs(3, "a zone and the key's .key and .private files"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			priv, err := os.ReadFile(args[2])
			if err != nil {
				return err
			}
			req := admin.DNSSECRequest{Name: args[0], KeyFile: string(key), PrivateFile: string(priv)}
			return run(cmd.Context(), f, true, "dnssec.import", req, printDNSSEC)
		},
	}
	var roll admin.RolloverRequest
	var rollAlg int
	rollover := &cobra.Command{
		Use: "rollover ZONE", Short: "Start a key rollover (ZSK, or KSK/CSK with --ksk; --alg for an algorithm rollover)",
		Long: `Publish a successor key. A ZSK takes over by itself once the DNSKEY TTL and
dnssec_publish_safety have passed (ZSKs also roll on their own every
dnssec_zsk_lifetime). A new KSK or CSK is announced in the CDS and CDNSKEY
records; give its DS to the parent, then run dms dnssec ds-seen ZONE, and the
rollover goes on. The old key leaves once no cache can need it. Steps and
states: dms dnssec keys ZONE.`,
		Example: "  dms dnssec rollover example.org\n  dms dnssec rollover example.org --ksk\n  dms dnssec rollover example.org --ksk --alg 15",
		Args:    exactArgs(1, "a zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			roll.Name, roll.Algorithm = args[0], uint8(rollAlg)
			return run(cmd.Context(), f, true, "dnssec.rollover", roll, printDNSSEC)
		},
	}
	rollover.Flags().BoolVar(&roll.KSK, "ksk", false, "roll the KSK (the CSK of a CSK zone rolls either way)")
	rollover.Flags().IntVar(&rollAlg, "alg", 0, "new algorithm: 13, 15 or 8 (an algorithm rollover)")
	var seenTag int
	dsSeen := &cobra.Command{
		Use: "ds-seen ZONE", Short: "Confirm the parent publishes the DS of the new (or first) KSK/CSK",
		Example: "  dms dnssec ds-seen example.org\n  dms dnssec ds-seen example.org --tag 12345",
		Args:    exactArgs(1, "a zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, true, "dnssec.ds_seen", admin.RolloverRequest{Name: args[0], Tag: uint16(seenTag)}, printDNSSEC)
		},
	}
	dsSeen.Flags().IntVar(&seenTag, "tag", 0, "only the key with this tag")
	cmd.AddCommand(enable, disable, keys, ds, imp, rollover, dsSeen)
	return cmd
}

func printDNSSEC(w io.Writer, info *admin.DNSSECInfo) {
	printCommits(w, &admin.CommitResult{Commits: info.Commits}, false)
	state := "unsigned"
	if info.Signed {
		state = "signed"
		if p := info.Params; p != nil {
			salt := p.Salt
			if salt == "" {
				salt = "-"
			}
			if p.NSEC3 {
				state += fmt.Sprintf(", NSEC3 iterations %d salt %s", p.Iterations, strings.ToLower(salt))
				if p.OptOut {
					state += " opt-out"
				}
			} else {
				state += ", NSEC"
			}
			state += fmt.Sprintf("; signatures valid %s, made anew %s before they expire", p.Validity, p.Refresh)
		}
	}
	fmt.Fprintf(w, "zone %s: %s\n", info.Zone, state)
	if len(info.Keys) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TAG\tALG\tROLE\tSTATE\tCREATED\tACTIVATED")
	for _, k := range info.Keys {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", k.Tag, k.Algorithm, k.Role, k.State, fmtTime(k.Created), fmtTime(k.Activated))
	}
	tw.Flush()
	for _, k := range info.Keys {
		for _, d := range k.DS {
			fmt.Fprintf(w, "DS: %s\n", d)
		}
	}
}
