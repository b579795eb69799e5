module github.com/ciam-mfa/ciam-mfa/services/sms-worker

go 1.26.8

require (
	github.com/ciam-mfa/ciam-mfa/pkg v0.0.0
	github.com/ciam-mfa/ciam-mfa/templates v0.0.0
	github.com/vonage/vonage-go-sdk v0.14.0
)

require (
	github.com/antihax/optional v1.0.0 // indirect
	github.com/golang-jwt/jwt v3.2.1+incompatible // indirect
	github.com/golang/protobuf v1.3.1 // indirect
	github.com/google/uuid v1.1.1 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/nats-io/nats.go v1.56.0 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/oauth2 v0.0.0-20200107190931-bf48bf16ab8d // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/appengine v1.4.0 // indirect
)

replace (
	github.com/ciam-mfa/ciam-mfa/pkg => ../../pkg
	github.com/ciam-mfa/ciam-mfa/templates => ../../templates
)
