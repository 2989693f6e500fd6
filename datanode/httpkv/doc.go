// Package httpkv is a DataNode's HTTP key-value API: GET, PUT and DELETE
// of one key under /v1/kv/{key}, bulk writes with POST /v1/kv, and a
// SCAN-style listing of the node's keys at /v1/keys.
//
// Every request runs as Redis commands through the DataNode's own command
// path (Backend.Do), so ownership, memory limits, expiry and statistics are
// exactly those of a RESP client. A key the node does not own is answered
// 307 Temporary Redirect to the owner's HTTP address, as a RESP client is
// answered MOVED; a slot in cutover, or a cluster without an active
// NameNode, is answered 503 with Retry-After, as TRYAGAIN and CLUSTERDOWN.
//
// docs/openapi.json describes the API; the package's tests check that the
// server and that description agree.
package httpkv
