package batch

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpctl/cpctl/pkg/fate"
	"github.com/cpctl/cpctl/pkg/simulator"
	"github.com/cpctl/cpctl/pkg/simulator/simtest"
)

// The crash test re-executes this test binary as a child that resumes a
// journal against the simulator; these variables switch TestMain into it.
const (
	envChild   = "CPCTL_BATCH_CRASH_CHILD"
	envJournal = "CPCTL_BATCH_CRASH_JOURNAL"
	envToken   = "CPCTL_BATCH_CRASH_TOKEN"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		os.Exit(crashChild())
	}
	if path := os.Getenv(envPlanChild); path != "" {
		planChild(path) // never returns: it is killed
	}
	if path := os.Getenv(envLockChild); path != "" {
		lockChild(path) // never returns
	}
	os.Exit(m.Run())
}

// crashChild resumes the journal named in the environment, printing
// "running" once the first row is done, and exits 0 when the run is complete.
func crashChild() int {
	path := os.Getenv(envJournal)
	h, err := ReadHeader(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	exec, err := whmPasswdExecutor(h.Meta["url"], h.Meta["ca-file"], os.Getenv(envToken))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	first := true
	sum, err := Resume(context.Background(), path, RunConfig{
		Exec: exec, Generate: randomPassword, Concurrency: 8,
		OnResult: func(Result) {
			if first {
				first = false
				fmt.Println("running")
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "resume:", err)
		return 2
	}
	if sum.ExitCode() != 0 {
		fmt.Fprintf(os.Stderr, "summary %+v\n", sum)
		return 3
	}
	return 0
}

// whmPasswdExecutor changes an account's password with a hand-written WHM API 1
// passwd call: POST over TLS, token in the header, password in the body.
func whmPasswdExecutor(base, caFile, token string) (func(context.Context, Row, string) Outcome, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 16}}
	return func(ctx context.Context, row Row, pw string) Outcome {
		body := url.Values{"user": {row.Target}, "password": {pw}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/json-api/passwd?api.version=1", strings.NewReader(body))
		if err != nil {
			return Outcome{State: fate.Unknown, Class: "transport", Message: err.Error()}
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "whm root:"+token)
		resp, err := client.Do(req)
		if err != nil {
			return Outcome{State: fate.Unknown, Class: "transport", Message: err.Error()}
		}
		defer resp.Body.Close()
		var reply struct {
			Data struct {
				App []string `json:"app"`
			} `json:"data"`
			Metadata struct {
				Result json.RawMessage `json:"result"`
				Reason string          `json:"reason"`
			} `json:"metadata"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
			return Outcome{State: fate.Unknown, Class: "transport", Message: fmt.Sprintf("HTTP %d: unreadable reply", resp.StatusCode)}
		}
		if r := strings.Trim(string(reply.Metadata.Result), `"`); r != "1" {
			return Outcome{State: fate.Refused, Class: "refused", Message: reply.Metadata.Reason}
		}
		return Outcome{State: fate.Applied, Message: reply.Metadata.Reason, Services: reply.Data.App}
	}, nil
}

func randomPassword(Row) (string, error) {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!%*+-=?"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}

const crashRootToken = "CRASHTESTTOKEN0123456789ABCDEFGH"

// TestCrashResume kills a child running a bulk rotation at random moments
// (kill -9), resumes each time, and checks that every account ends with the
// password the journal records and that no row was ever sent two different
// passwords, or sent without an intent on disk.
func TestCrashResume(t *testing.T) {
	accounts, wantKills := 1500, 20
	if testing.Short() {
		accounts, wantKills = 300, 3
	}
	st := &simulator.State{Hostname: "crash.example", MinimumStrengths: map[string]int{"passwd": 50, "default": 50},
		Root: simulator.Login{Password: "root-Pa55-word-long", Tokens: []string{crashRootToken}}}
	users := make([]string, accounts)
	for i := range users {
		users[i] = fmt.Sprintf("acct%04d", i)
		st.AddAccount(users[i], "root", users[i]+".example", "Initial-Pa55-word-"+users[i])
	}
	srv := simtest.NewServer(t, st, simulator.Options{Latency: 2 * time.Millisecond})
	dir := t.TempDir()
	intents := map[string]int{} // account → intents over every round
	kills, round, retries := 0, 0, 0
	for kills < wantKills {
		round++
		path := filepath.Join(dir, fmt.Sprintf("round%d.journal", round))
		in := "user\n" + strings.Join(users, "\n") + "\n"
		if _, err := Plan(path, strings.NewReader(in), KindAccount, map[string]string{"url": srv.WHMURL, "ca-file": srv.CAFile}, ValidateOptions{Generate: true}); err != nil {
			t.Fatal(err)
		}
		for kills < wantKills {
			finished := runChild(t, path, true)
			if finished {
				break
			}
			kills++
		}
		// Finish the round without a kill, then check it.
		for !runChild(t, path, false) {
		}
		retries += checkRound(t, srv, path, users, intents)
	}
	t.Logf("%d kills over %d rounds of %d accounts; %d rows resent after a kill", kills, round, accounts, retries)
	if !testing.Short() && retries == 0 {
		t.Error("no kill landed while rows were in flight")
	}
}

// startChild starts this test binary as a child that TestMain switches
// by env (KEY=value, added to this process's environment) into one of the
// children of the package's tests, which reports on stdout.
func startChild(t *testing.T, env ...string) (cmd *exec.Cmd, stdout io.ReadCloser, stderr *strings.Builder) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, stderr
}

// runChild resumes the journal in a child process. With kill, it kills the
// child at a random moment; it reports whether the child finished the run.
func runChild(t *testing.T, path string, kill bool) bool {
	t.Helper()
	cmd, stdout, stderr := startChild(t, envChild+"=1", envJournal+"="+path, envToken+"="+crashRootToken)
	var err error
	running := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "running" {
				close(running)
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	killed := false
	if kill {
		exited := make(chan struct{})
		result := make(chan bool, 1)
		go func() {
			// Some kills land while the child opens and scans the journal,
			// most while rows are in flight.
			if mrand.IntN(4) == 0 {
				sleepOr(exited, time.Duration(mrand.IntN(40))*time.Millisecond)
			} else {
				select {
				case <-running:
				case <-exited:
				case <-time.After(10 * time.Second):
				}
				sleepOr(exited, time.Duration(mrand.IntN(12000))*time.Microsecond)
			}
			select {
			case <-exited:
				result <- false
			default:
				result <- cmd.Process.Kill() == nil
			}
		}()
		err = cmd.Wait()
		close(exited)
		killed = <-result
	} else {
		err = cmd.Wait()
	}
	if killed && err != nil {
		return false
	}
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, stderr.String())
	}
	return true
}

func sleepOr(done <-chan struct{}, d time.Duration) {
	select {
	case <-done:
	case <-time.After(d):
	}
}

func checkRound(t *testing.T, srv *simulator.Server, path string, users []string, intents map[string]int) (retries int) {
	t.Helper()
	status, err := Show(path)
	if err != nil {
		t.Fatal(err)
	}
	if status.Succeeded != len(users) || status.Pending != 0 || status.Failed != 0 {
		t.Fatalf("round %s: status %+v", path, status)
	}
	// Every row's intents carry one password.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	target := map[int]string{}
	seqs := map[string]int{}
	pw := map[int]string{}
	if _, tail, err := scanRecords(f, func(r *record) error {
		switch r.T {
		case recRow:
			target[r.Seq] = r.Target
			seqs[r.Target] = r.Seq
		case recIntent:
			if r.Attempt > 1 {
				retries++
			}
			if p, ok := pw[r.Seq]; ok && p != r.Password {
				t.Errorf("row %d was sent two different passwords", r.Seq)
			}
			pw[r.Seq] = r.Password
			intents[target[r.Seq]]++
		}
		return nil
	}); err != nil || tail {
		t.Fatalf("scan: %v tail %v", err, tail)
	}
	exported := exportMap(t, path)
	state := srv.Sim.State()
	for _, u := range users {
		p := exported["/"+u]
		if p == "" || p != pw[seqs[u]] {
			t.Errorf("%s: exported password %q is not its intent's", u, p)
			continue
		}
		if !srv.Sim.CheckPassword(u, p) {
			t.Errorf("%s: the server does not have the journal's password", u)
		}
		// A change reaches the server only after its intent is on disk.
		if got := state.Accounts[u].PasswordChanges; got > intents[u] {
			t.Errorf("%s: %d changes on the server, only %d intents journaled", u, got, intents[u])
		}
	}
	return retries
}
