module github.com/ciam-mfa/ciam-mfa/e2e

go 1.26.8
