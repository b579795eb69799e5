module github.com/ciam-mfa/ciam-mfa/services/email-worker

go 1.26.8

require (
	github.com/ciam-mfa/ciam-mfa/pkg v0.0.0
	github.com/ciam-mfa/ciam-mfa/templates v0.0.0
	github.com/wneessen/go-mail v0.8.1
)

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6 // indirect
	github.com/emersion/go-smtp v0.26.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/nats-io/nats.go v1.56.0 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/ciam-mfa/ciam-mfa/pkg => ../../pkg
	github.com/ciam-mfa/ciam-mfa/templates => ../../templates
)
