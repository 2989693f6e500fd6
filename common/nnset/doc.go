// Package nnset is the one control-plane client of the NameNode pair:
// Set, the NameNodes of a cluster with the active one first, whose
// CallActive makes a call that only the active serves, following the
// active a standby names and waiting for one during an election. Its
// connections use the dial options of common/grpcdial.
package nnset
