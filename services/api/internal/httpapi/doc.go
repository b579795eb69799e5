// Package httpapi is mfa-api's public HTTP interface: the OAuth token
// endpoint and key set, the /v1 challenge routes behind bearer tokens,
// health, metrics and the OpenAPI document.
//
// Handlers return errors; one error handler turns each into a status and a
// stable public code from one table (errors.go), logs the cause with the
// request id, and never puts the cause in the body.
package httpapi
