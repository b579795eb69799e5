// Package render parses notification templates and renders them for one
// delivery.
//
// A template is a folder of four files: subject.txt and body.txt (parsed
// with text/template), body.html (html/template, so every value is escaped
// for its context) and sms.txt. A locale folder inside it, such as pt-BR/,
// overrides any of those files; a lookup for pt-BR tries pt-BR, then pt,
// then the template's own files, then en/.
//
// Templates are parsed and trial-rendered when loaded, so a broken one is
// refused with its file and line before it can fail a delivery.
package render
