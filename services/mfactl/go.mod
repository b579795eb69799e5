module github.com/ciam-mfa/ciam-mfa/services/mfactl

go 1.26.8
