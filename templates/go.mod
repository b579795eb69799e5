module github.com/ciam-mfa/ciam-mfa/templates

go 1.26.8
