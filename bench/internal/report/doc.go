// Package report turns the figures of one benchmark run into the markdown
// table that make bench prints: each product figure with the ceiling that
// bounds it, the ratio between them, its target and whether it passed.
// The targets live here, in one place.
package report
