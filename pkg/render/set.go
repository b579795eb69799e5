package render

import (
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
)

// Set is a collection of templates by name, safe for concurrent use; Put
// replaces a template atomically, so renders see the old or the new one.
type Set struct {
	mu sync.RWMutex
	m  map[string]*Template
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{m: map[string]*Template{}} }

// LoadFS parses every top-level folder of fsys as a template, version 1. It
// fails with ErrInvalid for the first broken one.
func LoadFS(fsys fs.FS) (*Set, error) {
	s := NewSet()
	if err := s.AddFS(fsys); err != nil {
		return nil, err
	}
	return s, nil
}

// AddFS parses every top-level folder of fsys into the set, replacing
// templates of the same name.
func (s *Set) AddFS(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("reading templates: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t, err := ParseFS(fsys, e.Name(), 1)
		if err != nil {
			return err
		}
		s.Put(t)
	}

	return nil
}

// Put adds or replaces t.
func (s *Set) Put(t *Template) {
	s.mu.Lock()
	s.m[t.name] = t
	s.mu.Unlock()
}

// Get returns the template called name. It fails with ErrUnknownTemplate.
func (s *Set) Get(name string) (*Template, error) {
	s.mu.RLock()
	t, ok := s.m[name]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownTemplate, name)
	}
	return t, nil
}

// Names returns the names of the templates held, sorted.
func (s *Set) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.m))
	for n := range s.m {
		out = append(out, n)
	}
	sort.Strings(out)

	return out
}

// Defaults returns the built-in templates, overridden or extended by the
// folders of dir when it is not empty.
func Defaults(builtin fs.FS, dir string) (*Set, error) {
	s, err := LoadFS(builtin)
	if err != nil {
		return nil, fmt.Errorf("built-in templates: %w", err)
	}
	if dir != "" {
		if err := s.AddFS(os.DirFS(dir)); err != nil {
			return nil, fmt.Errorf("templates in %s: %w", dir, err)
		}
	}

	return s, nil
}
