// Package ceiling measures what the machine can do without the product,
// so that each product figure can be read as a share of the limit that
// bounds it: a trivial Echo JSON handler served on loopback (loaded by the
// same load generator as the product), raw bbolt DB.Batch writes from
// concurrent goroutines on a temporary file, and raw JetStream publishes
// with their acks.
package ceiling
