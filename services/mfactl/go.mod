module github.com/ciam-mfa/ciam-mfa/services/mfactl

go 1.26.8

require github.com/ciam-mfa/ciam-mfa/pkg v0.0.0

replace github.com/ciam-mfa/ciam-mfa/pkg => ../../pkg
