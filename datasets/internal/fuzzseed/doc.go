// Package fuzzseed provides the helper that the loaders' tests use to write
// their fuzz seed corpora (testdata/fuzz/<FuzzName>/) in the format of
// `go test -fuzz`, so the committed seeds can be regenerated from code.
package fuzzseed
