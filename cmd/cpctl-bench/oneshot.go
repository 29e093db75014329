package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// curlConfig is what curl reads from standard input (-K -): the token and
// the password never appear in its argument list, where other users could
// read them.
func curlConfig(u, caFile, auth string, form []byte) string {
	q := func(s string) string { return strconv.Quote(s) }
	return strings.Join([]string{
		"url = " + q(u),
		"cacert = " + q(caFile),
		"header = " + q("Authorization: "+auth),
		"data = " + q(string(form)),
		"silent",
		"show-error",
		"fail-with-body",
		"",
	}, "\n")
}

// runWithInput runs argv with stdin and returns its wall time and stdout.
func runWithInput(ctx context.Context, env []string, stdin string, argv ...string) (time.Duration, []byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, stdout.Bytes(), fmt.Errorf("%s: %w: %s", filepath.Base(argv[0]), err, strings.TrimSpace(stderr.String()))
	}
	return d, stdout.Bytes(), nil
}

// oneShot is measurement 2: one `cpctl account passwd` as a new process,
// through a profile, against curl sending the same POST.
func (b *bench) oneShot(ctx context.Context) []result {
	const id, what = "2", "one `account passwd` process vs curl"
	if _, err := os.Stat(b.o.curl); err != nil {
		return []result{{ID: id, What: what, Verdict: skipped, Note: "skipped: curl not installed"}}
	}
	e, err := b.startSim(ctx, "oneshot", 1, 0)
	if err != nil {
		return []result{errResult(id, what, err)}
	}
	defer e.close(ctx)
	env := b.childEnv(e.home)
	user := accountName(0)
	pws, err := passwordPool(b.o.sizes.OneShotRounds + 1)
	if err != nil {
		return []result{errResult(id, what, err)}
	}
	cpctl := func(profile string) func(pw string) (time.Duration, error) {
		return func(pw string) (time.Duration, error) {
			d, _, err := runWithInput(ctx, env, pw+"\n", b.cpctl, "--config", e.cfg, "-p", profile, "account", "passwd", user, "--password-stdin")
			return d, err
		}
	}
	curl := func(pw string) (time.Duration, error) {
		conf := curlConfig(e.passwdURL(), e.srv.CAFile, authHeader(), passwdForm(user, pw))
		d, out, err := runWithInput(ctx, env, conf, b.o.curl, "-K", "-")
		if err == nil && !bytes.Contains(out, []byte(`"result":1`)) {
			err = errors.New("curl: the server did not change the password")
		}
		return d, err
	}
	series := []struct {
		name string
		run  func(pw string) (time.Duration, error)
		ds   []time.Duration
	}{
		{"profile with ca-cert", cpctl(benchProfile), nil},
		{"profile with pinned fingerprint", cpctl(pinProfile), nil},
		{"curl", curl, nil},
	}
	// Warm-up: the first cpctl run of a profile fetches the server's
	// minimum strengths and caches them for a day, as a cron job's later
	// runs find them.
	for i := range series {
		if _, err := series[i].run(pws[0]); err != nil {
			return []result{errResult(id, what, err)}
		}
	}
	for i := 1; i < len(pws); i++ {
		// Rotate who goes first, so no series always follows another.
		for k := range series {
			s := &series[(i+k)%len(series)]
			d, err := s.run(pws[i])
			if err != nil {
				return []result{errResult(id, what, err)}
			}
			s.ds = append(s.ds, d)
		}
	}
	last := pws[len(pws)-1]
	if !e.srv.Sim.CheckPassword(user, last) {
		return []result{errResult(id, what, errors.New("the account does not have the last password sent"))}
	}
	su := summarize(durations(series[2].ds))
	var rs []result
	for i, s := range series[:2] {
		sc := summarize(durations(s.ds))
		rs = append(rs, result{
			ID: id + string(rune('a'+i)), What: what + ", " + s.name,
			Goal: &goal{AtMost: true, Limit: 0.9}, Ratio: sc.Median / su.Median,
			Figures: []figure{{"cpctl", sc, unitSeconds}, {"curl", su, unitSeconds}},
			Note:    "TLS to the simulator, curl --cacert, minimums cached",
		})
	}
	return rs
}
