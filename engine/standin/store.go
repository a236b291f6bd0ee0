package standin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Resource is one live resource as the stand-in cloud keeps it. Inputs and
// outputs are in the provider protocol's wire form, so that secrets stay
// marked as secrets.
type Resource struct {
	URN     string         `json:"urn"`
	Type    string         `json:"type"`
	ID      string         `json:"id"`
	Inputs  map[string]any `json:"inputs"`
	Outputs map[string]any `json:"outputs"`
}

// Call is one gRPC call, a line of <package>.calls.jsonl.
type Call struct {
	Method string `json:"method"`
	// Token is the resource type or the function token.
	Token   string    `json:"token,omitempty"`
	URN     string    `json:"urn,omitempty"`
	ID      string    `json:"id,omitempty"`
	Preview bool      `json:"preview,omitempty"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
}

// store keeps a package's live resources in <dir>/<package>.json. Several
// plugin processes of one package run at once (one per provider
// configuration and version), so every access holds a lock on
// <dir>/<package>.lock, exclusive when it writes.
type store struct {
	dir, pkg string
}

// state is the content of the state file.
type state struct {
	// Resources are keyed by id, which is unique within a cloud.
	Resources map[string]Resource `json:"resources"`
}

func (s *store) path(suffix string) string { return filepath.Join(s.dir, s.pkg+suffix) }

// get returns the resource with id.
func (s *store) get(id string) (r Resource, ok bool, err error) {
	err = s.view(func(st *state) error {
		r, ok = st.Resources[id]
		return nil
	})
	return r, ok, err
}

// find returns a resource for which match is true.
func (s *store) find(match func(Resource) bool) (r Resource, ok bool, err error) {
	err = s.view(func(st *state) error {
		for _, c := range st.Resources {
			if match(c) {
				r, ok = c, true
				return nil
			}
		}
		return nil
	})
	return r, ok, err
}

// in is the store of pkg's live resources, beside this one.
func (s *store) in(pkg string) finder { return &store{dir: s.dir, pkg: pkg} }

// add stores r under its id, which must be free.
func (s *store) add(r Resource) error {
	return s.modify(func(st *state) error {
		if _, taken := st.Resources[r.ID]; taken {
			return fmt.Errorf("creating %s %s: %w", r.Type, r.ID, ErrAlreadyExists)
		}
		st.Resources[r.ID] = r
		return nil
	})
}

// replace stores r under its id if a resource with that id exists, and
// reports whether it did.
func (s *store) replace(r Resource) (ok bool, err error) {
	err = s.modify(func(st *state) error {
		if _, ok = st.Resources[r.ID]; ok {
			st.Resources[r.ID] = r
		}
		return nil
	})
	return ok, err
}

// remove deletes the resource with id and reports whether there was one.
func (s *store) remove(id string) (ok bool, err error) {
	err = s.modify(func(st *state) error {
		_, ok = st.Resources[id]
		delete(st.Resources, id)
		return nil
	})
	return ok, err
}

// record appends c to the call log.
func (s *store) record(c Call) error {
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.locked(true, func() error {
		f, err := os.OpenFile(s.path(".calls.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(append(line, '\n')); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}

func (s *store) view(fn func(*state) error) error {
	return s.locked(false, func() error {
		st, err := s.read()
		if err != nil {
			return err
		}
		return fn(st)
	})
}

func (s *store) modify(fn func(*state) error) error {
	return s.locked(true, func() error {
		st, err := s.read()
		if err != nil {
			return err
		}
		if err := fn(st); err != nil {
			return err
		}
		return s.write(st)
	})
}

// ready fails when there is nowhere to keep the state.
func (s *store) ready() error {
	if s.dir == "" {
		return fmt.Errorf("%s is not set; it names the directory where the stand-in keeps its cloud's state", StateEnv)
	}
	return nil
}

// locked runs fn holding the package's lock.
func (s *store) locked(exclusive bool, fn func() error) error {
	if err := s.ready(); err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	f, err := os.OpenFile(s.path(".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	// Closing the file releases the lock.
	defer f.Close()
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return fn()
}

func (s *store) read() (*state, error) {
	st := &state{}
	b, err := os.ReadFile(s.path(".json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path(".json"), err)
		}
	}
	if st.Resources == nil {
		st.Resources = map[string]Resource{}
	}
	return st, nil
}

// write replaces the state file in one rename, so that a reader without
// the lock (a test, a person) never sees half a file.
func (s *store) write(st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path(".json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.path(".json"))
}
