// Package config reads the apps' settings from the environment, with a
// command-line flag mirroring each variable, and rejects bad values with an
// error that names the setting and says what is expected.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Error is a setting that is missing or invalid.
type Error struct {
	// Name is the variable, or the flag when it was given on the command
	// line.
	Name string
	// Want says what a valid value is.
	Want string
}

func (e *Error) Error() string { return e.Name + ": " + e.Want }

// IsError reports whether err is, or wraps, a settings error.
func IsError(err error) bool {
	var e *Error
	return errors.As(err, &e) || errors.Is(err, flag.ErrHelp)
}

// Settings declares settings on a flag set, each defaulting to its
// environment variable, and validates them after Parse.
type Settings struct {
	fs     *flag.FlagSet
	getenv func(string) string
	checks []func(set map[string]bool) error
}

// New returns settings that read variables with getenv and flags with fs.
func New(fs *flag.FlagSet, getenv func(string) string) *Settings {
	return &Settings{fs: fs, getenv: getenv}
}

// String declares a text setting.
func (s *Settings) String(flagName, env, def, usage string) *string {
	v := s.getenv(env)
	if v == "" {
		v = def
	}
	return s.fs.String(flagName, v, usage+" ($"+env+")")
}

// Int declares an integer setting within [lo, hi].
func (s *Settings) Int(flagName, env string, def, lo, hi int, usage string) *int {
	return bounded(s, flagName, env, strconv.Itoa(def), usage, strconv.Atoi, lo, hi,
		fmt.Sprintf("want an integer from %d to %d", lo, hi))
}

// Float declares a number setting within [lo, hi].
func (s *Settings) Float(flagName, env string, def, lo, hi float64, usage string) *float64 {
	parse := func(v string) (float64, error) { return strconv.ParseFloat(v, 64) }
	return bounded(s, flagName, env, strconv.FormatFloat(def, 'g', -1, 64), usage, parse, lo, hi,
		fmt.Sprintf("want a number from %g to %g", lo, hi))
}

// Duration declares a duration setting (Go syntax: "20s", "1m30s") within
// [lo, hi].
func (s *Settings) Duration(flagName, env string, def, lo, hi time.Duration, usage string) *time.Duration {
	return bounded(s, flagName, env, def.String(), usage, time.ParseDuration, lo, hi,
		fmt.Sprintf("want a duration from %v to %v (e.g. \"20s\")", lo, hi))
}

// bounded declares a setting that parse reads and that must lie within
// [lo, hi]; want describes a valid value.
func bounded[T cmp.Ordered](s *Settings, flagName, env, def, usage string, parse func(string) (T, error), lo, hi T, want string) *T {
	out := new(T)
	raw := s.String(flagName, env, def, usage)
	s.checks = append(s.checks, func(set map[string]bool) error {
		v, err := parse(strings.TrimSpace(*raw))
		if err != nil || v < lo || v > hi {
			return &Error{Name: s.name(set, flagName, env), Want: fmt.Sprintf("%s, got %q", want, *raw)}
		}
		*out = v
		return nil
	})
	return out
}

// Check adds a validation that runs after the declared settings parsed.
// name(flag, env) gives the name to report for a setting.
func (s *Settings) Check(check func(name func(flagName, env string) string) error) {
	s.checks = append(s.checks, func(set map[string]bool) error {
		return check(func(flagName, env string) string { return s.name(set, flagName, env) })
	})
}

// Parse parses args and validates every setting, returning the first error.
func (s *Settings) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return &Error{Name: "arguments", Want: fmt.Sprintf("want flags only, got %q", s.fs.Args())}
	}
	set := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, check := range s.checks {
		if err := check(set); err != nil {
			return err
		}
	}
	return nil
}

func (s *Settings) name(set map[string]bool, flagName, env string) string {
	if set[flagName] {
		return "--" + flagName
	}
	return env
}

// Choice declares a setting that must be one of choices.
func (s *Settings) Choice(flagName, env, def string, choices []string, usage string) *string {
	v := s.String(flagName, env, def, usage+"; one of "+strings.Join(choices, ", "))
	s.checks = append(s.checks, func(set map[string]bool) error {
		for _, c := range choices {
			if *v == c {
				return nil
			}
		}
		return &Error{Name: s.name(set, flagName, env), Want: fmt.Sprintf("want one of %s, got %q", strings.Join(choices, ", "), *v)}
	})
	return v
}

// Report writes a settings error as one line naming the setting (or the
// usage, for -h) and returns the exit code for bad settings, 2.
func Report(stderr io.Writer, fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	return 2
}
