/*
 * Test-environment plumbing, never shipped: Go 1.22 and later get their
 * random numbers from ProcessPrng in bcryptprimitives.dll, which Wine 8.0
 * (Debian 12) does not have. This DLL provides it on top of RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has. scripts/wine-prefix.sh
 * builds it with mingw-w64 and copies it into a test Wine prefix's
 * system32 only when that Wine lacks ProcessPrng.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
