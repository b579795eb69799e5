module github.com/ciam-mfa/ciam-mfa/services/sms-worker

go 1.26.8
