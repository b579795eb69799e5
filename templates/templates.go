// Package templates carries the default notification templates inside every
// binary. Each folder is one template: subject.txt, body.html, body.txt and
// sms.txt, with optional locale folders (such as pt-BR/) that override any of
// those files.
package templates

import "embed"

// Default is the built-in template a new client is given when it names
// none.
const Default = "demotemplate"

// FS holds the default templates, one folder each.
//
//go:embed demotemplate
var FS embed.FS
