/* libuv's error names and codes, for uvffi.errno. */

/*@cdef
int uvffi_errno_count(void);
int uvffi_errno_code(int i);
const char *uvffi_errno_name(int i);
*/

#define UVFFI_ERRNO_XX(code, _) UV_##code,
static const int uvffi__errno_codes[] = {UV_ERRNO_MAP(UVFFI_ERRNO_XX)};
#undef UVFFI_ERRNO_XX
#define UVFFI_ERRNO_XX(code, _) "UV_" #code,
static const char *uvffi__errno_names[] = {UV_ERRNO_MAP(UVFFI_ERRNO_XX)};
#undef UVFFI_ERRNO_XX

int uvffi_errno_count(void) { return (int)(sizeof uvffi__errno_codes / sizeof uvffi__errno_codes[0]); }
int uvffi_errno_code(int i) { return uvffi__errno_codes[i]; }
const char *uvffi_errno_name(int i) { return uvffi__errno_names[i]; }
