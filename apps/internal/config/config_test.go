package config

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func settings(env map[string]string) (*Settings, *flag.FlagSet) {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return New(fs, func(k string) string { return env[k] }), fs
}

func TestEnvironmentThenFlagWins(t *testing.T) {
	s, _ := settings(map[string]string{"N": "3", "D": "2s", "F": "1.5", "C": "b"})
	n := s.Int("n", "N", 1, 0, 10, "")
	d := s.Duration("d", "D", time.Second, 0, time.Minute, "")
	f := s.Float("f", "F", 0, 0, 2, "")
	c := s.Choice("c", "C", "a", []string{"a", "b"}, "")
	if err := s.Parse([]string{"--n", "7"}); err != nil {
		t.Fatal(err)
	}
	if *n != 7 || *d != 2*time.Second || *f != 1.5 || *c != "b" {
		t.Fatalf("got n=%d d=%v f=%v c=%q; want 7 (flag), 2s, 1.5, b (environment)", *n, *d, *f, *c)
	}
}

func TestErrorsNameWhatTheUserSet(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"N": "11"}, nil, `N: want an integer from 0 to 10, got "11"`},
		{nil, []string{"--n", "x"}, `--n: want an integer from 0 to 10, got "x"`},
		{map[string]string{"D": "5"}, nil, `D: want a duration from 0s to 1m0s`},
		{map[string]string{"C": "z"}, nil, `C: want one of a, b, got "z"`},
		{nil, []string{"stray"}, `arguments: want flags only`},
	} {
		s, _ := settings(tc.env)
		s.Int("n", "N", 1, 0, 10, "")
		s.Duration("d", "D", time.Second, 0, time.Minute, "")
		s.Choice("c", "C", "a", []string{"a", "b"}, "")
		err := s.Parse(tc.args)
		if !IsError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v args %v: error %v, want a settings error containing %q", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestReportIsOneLineAndExitCode2(t *testing.T) {
	_, fs := settings(nil)
	var out bytes.Buffer
	if code := Report(&out, fs, &Error{Name: "X", Want: "want y"}); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if got := out.String(); got != "app: X: want y\n" {
		t.Fatalf("report %q", got)
	}
}
