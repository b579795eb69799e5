package render

import (
	"bytes"
	"errors"
	"fmt"
	htemplate "html/template"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"
	"strings"
	ttemplate "text/template"
	"text/template/parse"
	"unicode/utf8"

	"github.com/ciam-mfa/ciam-mfa/pkg/events"
)

// Files of a template folder.
const (
	FileSubject = "subject.txt"
	FileHTML    = "body.html"
	FileText    = "body.txt"
	FileSMS     = "sms.txt"
)

// Files lists the files every template must have at its root.
var Files = []string{FileSubject, FileHTML, FileText, FileSMS}

// Limits on template sources.
const (
	maxFileBytes = 64 << 10
	maxLocales   = 64
)

// Errors returned by this package.
var (
	// ErrUnknownTemplate is returned for a template name a Set does not
	// hold.
	ErrUnknownTemplate = errors.New("render: unknown template")
	// ErrInvalid is returned for a template that is incomplete, does not
	// parse, or fails a trial render; the message names the file and line.
	ErrInvalid = errors.New("render: invalid template")
	// ErrHeaderValue is returned when a rendered subject would carry a line
	// break or a control character into a mail header.
	ErrHeaderValue = errors.New("render: control character in header value")
	// ErrTooLong is returned when a part would render to more than
	// MaxOutput bytes.
	ErrTooLong = errors.New("render: output too long")
)

// Bounds on what a template may make its renders do: a message is short,
// so a part longer than MaxOutput or a range over a number above
// MaxRangeCount is a mistake or an attack on the renderer.
const (
	MaxOutput     = 256 << 10
	MaxRangeCount = 1000
)

// Brand holds a client's branding fields, available to templates as
// .Brand: .LogoURL, .PrimaryColor, .SupportEmail.
type Brand = events.Brand

// Data is what a template can use.
type Data struct {
	Code             string
	UserName         string
	ExpiresInMinutes int
	AppName          string
	Locale           string
	Brand            Brand
}

// SampleData is used for trial renders and previews.
var SampleData = Data{
	Code: "123456", UserName: "jdoe", ExpiresInMinutes: 5, AppName: "Example",
	Locale: "en", Brand: Brand{LogoURL: "https://example.com/logo.png",
		PrimaryColor: "#0055aa", SupportEmail: "support@example.com"},
}

// Email is a rendered email.
type Email struct {
	Subject string
	HTML    string
	Text    string
}

// variant is one locale's files; nil fields fall back along the chain.
type variant struct {
	subject *ttemplate.Template
	html    *htemplate.Template
	text    *ttemplate.Template
	sms     *ttemplate.Template
}

// Template is one parsed template. It is immutable and safe for concurrent
// use.
type Template struct {
	name     string
	version  int
	variants map[string]*variant // by lowercase locale; "" is the root
	locales  []string            // as the folders are named
}

// Name returns the template's name.
func (t *Template) Name() string { return t.name }

// Version returns the version the template was parsed as.
func (t *Template) Version() int { return t.version }

// Locales returns the locale folders the template has, sorted.
func (t *Template) Locales() []string {
	var out []string
	for l := range t.variants {
		if l != "" {
			out = append(out, l)
		}
	}

	sort.Strings(out)

	return out
}

// Parse parses a template from its files, keyed by path inside the folder
// ("subject.txt", "pt-BR/sms.txt"). Unknown files are refused. It fails
// with ErrInvalid, naming the file and line of the first problem.
func Parse(name string, version int, files map[string]string) (*Template, error) {
	t := &Template{name: name, version: version, variants: map[string]*variant{}}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := t.add(p, files[p]); err != nil {
			return nil, err
		}
	}

	root := t.variants[""]
	for _, f := range Files {
		if root == nil || !root.has(f) {
			return nil, fmt.Errorf("%w: %s: missing %s", ErrInvalid, name, f)
		}
	}

	if len(t.variants) > maxLocales+1 {
		return nil, fmt.Errorf("%w: %s: more than %d locales", ErrInvalid, name, maxLocales)
	}
	if err := t.trial(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) add(p, src string) error {
	locale, file := path.Split(p)
	locale = strings.TrimSuffix(locale, "/")
	if strings.Contains(locale, "/") || (locale != "" && !validLocale(locale)) {
		return fmt.Errorf("%w: %s: %.64q is not a locale folder", ErrInvalid, t.name, p)
	}
	if len(src) > maxFileBytes || !utf8.ValidString(src) {
		return fmt.Errorf("%w: %s: %.64q is not UTF-8 text under %d bytes",
			ErrInvalid, t.name, p, maxFileBytes)
	}

	key := strings.ToLower(locale)
	v := t.variants[key]
	if v == nil {
		v = &variant{}
		t.variants[key] = v
		if locale != "" {
			t.locales = append(t.locales, locale)
		}
	}

	var err error
	switch file {
	case FileSubject:
		v.subject, err = ttemplate.New(p).Option("missingkey=error").Parse(src)
	case FileText:
		v.text, err = ttemplate.New(p).Option("missingkey=error").Parse(src)
	case FileSMS:
		v.sms, err = ttemplate.New(p).Option("missingkey=error").Parse(src)
	case FileHTML:
		v.html, err = htemplate.New(p).Option("missingkey=error").Parse(src)
	default:
		return fmt.Errorf("%w: %s: unknown file %.64q", ErrInvalid, t.name, p)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, t.name, err)
	}
	n, ok := largestRange(treesOf(v, file))
	if !ok {
		return fmt.Errorf("%w: %s: %s ranges over something other than a number or a field",
			ErrInvalid, t.name, p)
	}
	if n > MaxRangeCount {
		return fmt.Errorf("%w: %s: %s ranges over %d, more than %d", ErrInvalid, t.name, p, n,
			MaxRangeCount)
	}
	return nil
}

// treesOf are the parse trees of v's file: its own and those it defines.
func treesOf(v *variant, file string) []*parse.Tree {
	var out []*parse.Tree
	switch {
	case file == FileSubject && v.subject != nil:
		out = textTrees(v.subject)
	case file == FileText && v.text != nil:
		out = textTrees(v.text)
	case file == FileSMS && v.sms != nil:
		out = textTrees(v.sms)
	case file == FileHTML && v.html != nil:
		for _, t := range v.html.Templates() {
			out = append(out, t.Tree)
		}
	}
	return out
}

func textTrees(t *ttemplate.Template) []*parse.Tree {
	var out []*parse.Tree
	for _, d := range t.Templates() {
		out = append(out, d.Tree)
	}
	return out
}

// largestRange is the largest number the ranges of trees iterate over,
// nested ranges multiplying, through the templates they call too: 0 when
// none ranges over a number. It reports false when a range goes over
// anything but a number literal or a field of the data (a variable, a
// call or a parenthesised pipeline could hold any number).
func largestRange(trees []*parse.Tree) (int64, bool) {
	byName := map[string]*parse.Tree{}
	for _, t := range trees {
		if t != nil && t.Root != nil {
			byName[t.Name] = t
		}
	}
	w := rangeWalk{trees: byName}
	for _, t := range byName {
		w.node(t.Root, 1, 0)
	}
	return w.most, !w.opaque
}

// rangeWalk finds the largest product of nested range counts.
type rangeWalk struct {
	trees map[string]*parse.Tree
	most  int64
	// opaque is set by a range whose count the walk cannot know.
	opaque bool
}

// maxCallDepth bounds how deep the walk follows template calls, which may
// recurse.
const maxCallDepth = 8

func (w *rangeWalk) node(n parse.Node, times int64, depth int) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				w.node(c, times, depth)
			}
		}
	case *parse.RangeNode:
		inner := times
		k, ok := rangeLiteral(n.Pipe)
		w.opaque = w.opaque || !ok
		if k > 0 {
			inner = math.MaxInt64
			if k <= math.MaxInt64/times {
				inner = times * k
			}
			w.most = max(w.most, inner)
		}
		w.node(n.List, inner, depth)
		w.node(n.ElseList, times, depth)
	case *parse.IfNode:
		w.node(n.List, times, depth)
		w.node(n.ElseList, times, depth)
	case *parse.WithNode:
		w.node(n.List, times, depth)
		w.node(n.ElseList, times, depth)
	case *parse.TemplateNode:
		if t := w.trees[n.Name]; t != nil && depth < maxCallDepth {
			w.node(t.Root, times, depth+1)
		}
	}
}

// rangeLiteral is the number a range pipeline names as a literal, or 0
// for a field of the data (.F or $.F), whose numbers are small
// (ExpiresInMinutes). It reports false for any other pipeline.
func rangeLiteral(p *parse.PipeNode) (int64, bool) {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0, false
	}
	switch arg := p.Cmds[0].Args[0].(type) {
	case *parse.NumberNode:
		if arg.IsInt && arg.Int64 > 0 {
			return arg.Int64, true
		}
		return 0, arg.IsInt
	case *parse.FieldNode:
		return 0, true
	case *parse.VariableNode: // $.Field is a field of the data too
		return 0, len(arg.Ident) > 1 && arg.Ident[0] == "$"
	default:
		return 0, false
	}
}

func (v *variant) has(file string) bool {
	switch file {
	case FileSubject:
		return v.subject != nil
	case FileHTML:
		return v.html != nil
	case FileText:
		return v.text != nil
	case FileSMS:
		return v.sms != nil
	}
	return false
}

// trial renders every variant with sample data, so that errors that only
// show when executing (an unknown field, a bad call) are found at load.
func (t *Template) trial() error {
	for locale := range t.variants {
		if _, err := t.Email(locale, SampleData); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, t.name, err)
		}
		if _, err := t.SMS(locale, SampleData); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalid, t.name, err)
		}
	}

	return nil
}

// chain returns the variants to try for locale, most specific first.
func (t *Template) chain(locale string) []*variant {
	keys := []string{strings.ToLower(locale)}
	if lang, _, ok := strings.Cut(keys[0], "-"); ok {
		keys = append(keys, lang)
	}
	keys = append(keys, "", "en")
	out := make([]*variant, 0, len(keys))
	for _, k := range keys {
		if v, ok := t.variants[k]; ok {
			out = append(out, v)
		}
	}

	return out
}

func (t *Template) pick(locale, file string) (func(io.Writer, Data) error, error) {
	for _, v := range t.chain(locale) {
		switch {
		case file == FileSubject && v.subject != nil:
			return func(b io.Writer, d Data) error { return v.subject.Execute(b, d) }, nil
		case file == FileText && v.text != nil:
			return func(b io.Writer, d Data) error { return v.text.Execute(b, d) }, nil
		case file == FileSMS && v.sms != nil:
			return func(b io.Writer, d Data) error { return v.sms.Execute(b, d) }, nil
		case file == FileHTML && v.html != nil:
			return func(b io.Writer, d Data) error { return v.html.Execute(b, d) }, nil
		}
	}

	return nil, fmt.Errorf("%w: %s has no %s", ErrInvalid, t.name, file)
}

func (t *Template) exec(locale, file string, d Data) (string, error) {
	run, err := t.pick(locale, file)
	if err != nil {
		return "", err
	}
	b := cappedBuffer{left: MaxOutput}
	if err := run(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// cappedBuffer is a buffer that refuses writes beyond left bytes, which
// stops a template's execution.
type cappedBuffer struct {
	bytes.Buffer
	left int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if len(p) > b.left {
		return 0, ErrTooLong
	}
	b.left -= len(p)
	return b.Buffer.Write(p)
}

// Email renders the email for locale. It fails with ErrHeaderValue when the
// subject would hold a control character, ErrTooLong when a part would
// exceed MaxOutput, or with a template execution error.
func (t *Template) Email(locale string, d Data) (Email, error) {
	if d.Locale == "" {
		d.Locale = locale
	}
	subject, err := t.exec(locale, FileSubject, d)
	if err != nil {
		return Email{}, err
	}
	subject = strings.TrimSpace(subject)
	if strings.ContainsFunc(subject, isControl) {
		return Email{}, ErrHeaderValue
	}
	html, err := t.exec(locale, FileHTML, d)
	if err != nil {
		return Email{}, err
	}
	text, err := t.exec(locale, FileText, d)
	if err != nil {
		return Email{}, err
	}
	return Email{Subject: subject, HTML: html, Text: text}, nil
}

// SMS renders the text message for locale, trimmed of surrounding space.
// It fails with ErrTooLong when the text would exceed MaxOutput, or with a
// template execution error.
func (t *Template) SMS(locale string, d Data) (string, error) {
	if d.Locale == "" {
		d.Locale = locale
	}
	s, err := t.exec(locale, FileSMS, d)
	return strings.TrimSpace(s), err
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 }

// validLocale accepts BCP 47 shaped tags: letters, digits and hyphens.
func validLocale(s string) bool {
	if len(s) < 2 || len(s) > 35 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}

	return true
}

// ParseFS parses the template in folder dir of fsys, named by the folder.
func ParseFS(fsys fs.FS, dir string, version int) (*Template, error) {
	files := map[string]string{}
	err := fs.WalkDir(fsys, dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, dir+"/")] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading template %s: %w", dir, err)
	}
	return Parse(path.Base(dir), version, files)
}
