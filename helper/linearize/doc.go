// Package linearize records the history of key-value operations that test
// clients issue against a chkv cluster and checks, with porcupine, that the
// history is linearizable.
//
// Each client goroutine wraps every operation in Begin and exactly one of the
// returned Pending's Ok, Fail or Unknown; after the workload the test calls
// Check, which partitions the history by key.
package linearize
