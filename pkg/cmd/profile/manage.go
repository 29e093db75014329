package profile

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cpctl/cpctl/pkg/cmd/cmdutil"
	"github.com/cpctl/cpctl/pkg/config"
)

func newCmdList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List profiles (never shows secrets)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := f.Config()
			if err != nil {
				return err
			}
			pr, err := f.Printer()
			if err != nil {
				return err
			}
			rows := [][]string{}
			for _, n := range cfg.Names() {
				p := cfg.Profiles[n]
				rows = append(rows, []string{n, strconv.FormatBool(n == cfg.CurrentProfile), p.URL, p.Kind, p.User, p.Auth, secretSource(p), pinState(p)})
			}
			return pr.Table([]string{"NAME", "CURRENT", "URL", "KIND", "USER", "AUTH", "SECRET", "TLS"}, rows)
		},
	}
}

// secretSource says where the secret comes from without showing it.
func secretSource(p *config.Profile) string {
	switch {
	case p.TokenCommand != "":
		return "token-command"
	case p.PasswordCommand != "":
		return "password-command"
	case p.Token != "", p.Password != "", p.AccessHash != "":
		return "in config"
	}
	return "none"
}

func pinState(p *config.Profile) string {
	switch {
	case p.Insecure:
		return "insecure"
	case p.TLSFingerprint != "":
		return "pinned"
	case p.CACert != "":
		return "ca-cert"
	}
	return "system"
}

// shown is a profile as `profile show` prints it: every field but the
// secrets, which are only said to be set.
type shown struct {
	Name            string `json:"name" yaml:"name"`
	Current         bool   `json:"current" yaml:"current"`
	*config.Profile `yaml:",inline"`
	Token           string `json:"token,omitempty" yaml:"token,omitempty"`
	Password        string `json:"password,omitempty" yaml:"password,omitempty"`
	AccessHash      string `json:"accesshash,omitempty" yaml:"accesshash,omitempty"`
	TOTPSecret      string `json:"totp-secret,omitempty" yaml:"totp-secret,omitempty"`
}

func newCmdShow(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show [NAME]",
		Short: "Show a profile (secrets are only said to be set)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := f.Config()
			if err != nil {
				return err
			}
			name := cfg.CurrentProfile
			if len(args) == 1 {
				name = args[0]
			}
			p, err := cfg.Profile(name)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			cp := *p
			s := shown{Name: name, Current: name == cfg.CurrentProfile, Profile: &cp}
			set := func(v string) string {
				if v != "" {
					return "<set>"
				}
				return ""
			}
			s.Token, s.Password, s.AccessHash, s.TOTPSecret = set(p.Token), set(p.Password), set(p.AccessHash), set(p.TOTPSecret)
			cp.Token, cp.Password, cp.AccessHash, cp.TOTPSecret = "", "", "", ""
			pr, err := f.Printer()
			if err != nil {
				return err
			}
			return pr.Value(s)
		},
	}
	cmd.ValidArgsFunction = cmdutil.CompleteProfiles(f)
	return cmd
}

func newCmdUse(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "use NAME",
		Short: "Make a profile the current one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, path, err := f.Config()
			if err != nil {
				return err
			}
			if _, err := cfg.Profile(args[0]); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			cfg.CurrentProfile = args[0]
			if err := cfg.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "Current profile: %s\n", args[0])
			return nil
		},
	}
	cmd.ValidArgsFunction = cmdutil.CompleteProfiles(f)
	return cmd
}

func newCmdRemove(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove a profile",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, path, err := f.Config()
			if err != nil {
				return err
			}
			if _, err := cfg.Profile(args[0]); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			delete(cfg.Profiles, args[0])
			if cfg.CurrentProfile == args[0] {
				cfg.CurrentProfile = ""
			}
			if err := cfg.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "Removed profile %s\n", args[0])
			return nil
		},
	}
	cmd.ValidArgsFunction = cmdutil.CompleteProfiles(f)
	return cmd
}

func newCmdTest(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test [NAME]",
		Short: "Check a profile: server reachable, certificate trusted or pinned, credentials accepted",
		Long: `Check a profile with a harmless call (WHM API 1 version, or UAPI
Variables/get_user_information on cPanel) and say which step failed. An
untrusted certificate is shown with its fingerprint and, at a terminal,
offered for pinning; the pin is saved in the profile.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, path, err := f.Config()
			if err != nil {
				return err
			}
			name := cfg.CurrentProfile
			if len(args) == 1 {
				name = args[0]
			}
			if name == "" {
				return cmdutil.Usagef("which profile? give NAME or set a current profile with 'cpctl profile use NAME'")
			}
			p, err := cfg.Profile(name)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			before := p.TLSFingerprint
			t, err := f.ResolveTarget(name)
			if err != nil {
				return err
			}
			if err := checkProfile(cmd.Context(), f, t, &t.Profile); err != nil {
				return err
			}
			if t.Profile.TLSFingerprint != before {
				p.TLSFingerprint = t.Profile.TLSFingerprint
				if err := cfg.Save(path); err != nil {
					return err
				}
				fmt.Fprintf(f.IO.ErrOut, "Pinned the certificate in profile %s\n", name)
			}
			fmt.Fprintf(f.IO.Out, "profile %s: ok\n", name)
			return nil
		},
	}
	cmd.ValidArgsFunction = cmdutil.CompleteProfiles(f)
	return cmd
}
