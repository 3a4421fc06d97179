package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/localjobs/localjobs/manifest"
)

// manifestFiles expands the -f/PATH arguments: files as given, directories
// to their *.yaml, *.yml and *.json files (not recursing into dotdirs,
// skipping dotfiles and editor temp files), sorted. "-" is standard input.
func manifestFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != p && strings.HasPrefix(name, ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if isManifestName(name) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no *.yaml, *.yml or *.json files", p)
		}
		out = append(out, found...)
	}
	return out, nil
}

// isManifestName reports whether a file name is a manifest localjobs reads:
// *.yaml|*.yml|*.json, not a dotfile or an editor's temp file.
func isManifestName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// loadManifests decodes every file (objects naming no namespace are put in
// ns, "" = default; see manifest.DecodeIn); it returns all objects that
// decoded and validated, and prints every warning and error to stderr. bad
// reports whether any file had an error.
func loadManifests(paths []string, ns string, stdin io.Reader, stderr io.Writer) (objs []manifest.Object, bad bool, err error) {
	files, err := manifestFiles(paths)
	if err != nil {
		return nil, false, err
	}
	for _, f := range files {
		var data []byte
		name := f
		if f == "-" {
			name = "<stdin>"
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			bad = true
			continue
		}
		res := manifest.DecodeIn(name, data, ns)
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "Warning: %s\n", w.Error())
		}
		for _, e := range res.Errors {
			fmt.Fprintf(stderr, "error: %s\n", e.Error())
			bad = true
		}
		objs = append(objs, res.Objects...)
	}
	return objs, bad, nil
}
