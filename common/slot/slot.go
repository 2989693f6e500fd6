// Package slot maps keys to Redis Cluster hash slots.
//
// A key's slot is CRC16-XMODEM of its hash tag modulo 16384, exactly as Redis
// Cluster computes it, so Redis Cluster clients agree with CHKV on routing.
package slot

// Count is the number of hash slots in a cluster.
const Count = 16384

// crcTable is the CRC16-XMODEM (polynomial 0x1021) lookup table.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// CRC16 returns the CRC16-XMODEM checksum of b.
func CRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^c]
	}
	return crc
}

// HashTag returns the part of key that is hashed: the bytes between the
// first '{' and the next '}' when that is non-empty, otherwise the whole key.
func HashTag(key []byte) []byte {
	for i, c := range key {
		if c == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j == i+1 {
						return key
					}
					return key[i+1 : j]
				}
			}
			return key
		}
	}
	return key
}

// Of returns the hash slot of key.
func Of(key []byte) int {
	return int(CRC16(HashTag(key)) & (Count - 1))
}

// OfString returns the hash slot of key.
func OfString(key string) int {
	return Of([]byte(key))
}
