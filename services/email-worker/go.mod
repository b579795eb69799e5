module github.com/ciam-mfa/ciam-mfa/services/email-worker

go 1.26.8
