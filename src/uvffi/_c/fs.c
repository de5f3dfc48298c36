/* fs.c: uvffi.fs's declarations of libuv's uv_fs_* calls, and the request kind
 * "fs" of the asynchronous path: the uv_fs_t lives in a uvffi_req_t (req.c),
 * Python makes the uv_fs_* call with uvffi_fs_cb as its callback, which hands
 * the result to the request's _done; then uv_fs_req_cleanup frees libuv's part. */

/*@cdef
// ---- fs.cdef: uvffi.fs (synchronous path; the request layer adds the callbacks) ----
typedef int... uv_uid_t;
typedef int... uv_gid_t;
typedef struct { char *base; size_t len; ...; } uv_buf_t;
typedef struct { long tv_sec; long tv_nsec; } uv_timespec_t;
typedef struct {
    uint64_t st_dev; uint64_t st_mode; uint64_t st_nlink; uint64_t st_uid; uint64_t st_gid;
    uint64_t st_rdev; uint64_t st_ino; uint64_t st_size; uint64_t st_blksize; uint64_t st_blocks;
    uint64_t st_flags; uint64_t st_gen;
    uv_timespec_t st_atim; uv_timespec_t st_mtim; uv_timespec_t st_ctim; uv_timespec_t st_birthtim;
} uv_stat_t;
typedef struct uv_statfs_s {
    uint64_t f_type; uint64_t f_bsize; uint64_t f_blocks; uint64_t f_bfree; uint64_t f_bavail;
    uint64_t f_files; uint64_t f_ffree; ...;
} uv_statfs_t;
typedef int... uv_dirent_type_t;
typedef struct uv_dirent_s { const char *name; uv_dirent_type_t type; } uv_dirent_t;
typedef struct uv_dir_s { uv_dirent_t *dirents; size_t nentries; ...; } uv_dir_t;
typedef struct uv_fs_s { ssize_t result; void *ptr; const char *path; uv_stat_t statbuf; ...; } uv_fs_t;
typedef void (*uv_fs_cb)(uv_fs_t *req);

#define UV_RENAME ...
#define UV_CHANGE ...
#define UV_FS_EVENT_WATCH_ENTRY ...
#define UV_FS_EVENT_STAT ...
#define UV_FS_EVENT_RECURSIVE ...
#define UV_FS_SYMLINK_DIR ...
#define UV_FS_SYMLINK_JUNCTION ...
#define UV_FS_COPYFILE_EXCL ...
#define UV_FS_COPYFILE_FICLONE ...
#define UV_FS_COPYFILE_FICLONE_FORCE ...
#define UV_DIRENT_UNKNOWN ...
#define UV_DIRENT_FILE ...
#define UV_DIRENT_DIR ...
#define UV_DIRENT_LINK ...
#define UV_DIRENT_FIFO ...
#define UV_DIRENT_SOCKET ...
#define UV_DIRENT_CHAR ...
#define UV_DIRENT_BLOCK ...

void uv_fs_req_cleanup(uv_fs_t *req);
// the uv_fs_cb of every asynchronous fs request (a uvffi_req_t of kind "fs")
void uvffi_fs_cb(uv_fs_t *req);
int uv_fs_close(uv_loop_t *loop, uv_fs_t *req, uv_file file, uv_fs_cb cb);
int uv_fs_open(uv_loop_t *loop, uv_fs_t *req, const char *path, int flags, int mode, uv_fs_cb cb);
int uv_fs_read(uv_loop_t *loop, uv_fs_t *req, uv_file file, const uv_buf_t bufs[], unsigned int nbufs,
               int64_t offset, uv_fs_cb cb);
int uv_fs_write(uv_loop_t *loop, uv_fs_t *req, uv_file file, const uv_buf_t bufs[], unsigned int nbufs,
                int64_t offset, uv_fs_cb cb);
int uv_fs_unlink(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_copyfile(uv_loop_t *loop, uv_fs_t *req, const char *path, const char *new_path, int flags,
                   uv_fs_cb cb);
int uv_fs_mkdir(uv_loop_t *loop, uv_fs_t *req, const char *path, int mode, uv_fs_cb cb);
int uv_fs_mkdtemp(uv_loop_t *loop, uv_fs_t *req, const char *tpl, uv_fs_cb cb);
int uv_fs_mkstemp(uv_loop_t *loop, uv_fs_t *req, const char *tpl, uv_fs_cb cb);
int uv_fs_rmdir(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_scandir(uv_loop_t *loop, uv_fs_t *req, const char *path, int flags, uv_fs_cb cb);
int uv_fs_scandir_next(uv_fs_t *req, uv_dirent_t *ent);
int uv_fs_opendir(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_readdir(uv_loop_t *loop, uv_fs_t *req, uv_dir_t *dir, uv_fs_cb cb);
int uv_fs_closedir(uv_loop_t *loop, uv_fs_t *req, uv_dir_t *dir, uv_fs_cb cb);
int uv_fs_stat(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_fstat(uv_loop_t *loop, uv_fs_t *req, uv_file file, uv_fs_cb cb);
int uv_fs_lstat(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_statfs(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_rename(uv_loop_t *loop, uv_fs_t *req, const char *path, const char *new_path, uv_fs_cb cb);
int uv_fs_fsync(uv_loop_t *loop, uv_fs_t *req, uv_file file, uv_fs_cb cb);
int uv_fs_fdatasync(uv_loop_t *loop, uv_fs_t *req, uv_file file, uv_fs_cb cb);
int uv_fs_ftruncate(uv_loop_t *loop, uv_fs_t *req, uv_file file, int64_t offset, uv_fs_cb cb);
int uv_fs_sendfile(uv_loop_t *loop, uv_fs_t *req, uv_file out_fd, uv_file in_fd, int64_t in_offset,
                   size_t length, uv_fs_cb cb);
int uv_fs_access(uv_loop_t *loop, uv_fs_t *req, const char *path, int mode, uv_fs_cb cb);
int uv_fs_chmod(uv_loop_t *loop, uv_fs_t *req, const char *path, int mode, uv_fs_cb cb);
int uv_fs_fchmod(uv_loop_t *loop, uv_fs_t *req, uv_file file, int mode, uv_fs_cb cb);
int uv_fs_utime(uv_loop_t *loop, uv_fs_t *req, const char *path, double atime, double mtime, uv_fs_cb cb);
int uv_fs_futime(uv_loop_t *loop, uv_fs_t *req, uv_file file, double atime, double mtime, uv_fs_cb cb);
int uv_fs_lutime(uv_loop_t *loop, uv_fs_t *req, const char *path, double atime, double mtime, uv_fs_cb cb);
int uv_fs_link(uv_loop_t *loop, uv_fs_t *req, const char *path, const char *new_path, uv_fs_cb cb);
int uv_fs_symlink(uv_loop_t *loop, uv_fs_t *req, const char *path, const char *new_path, int flags,
                  uv_fs_cb cb);
int uv_fs_readlink(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_realpath(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_fs_cb cb);
int uv_fs_chown(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_uid_t uid, uv_gid_t gid, uv_fs_cb cb);
int uv_fs_fchown(uv_loop_t *loop, uv_fs_t *req, uv_file file, uv_uid_t uid, uv_gid_t gid, uv_fs_cb cb);
int uv_fs_lchown(uv_loop_t *loop, uv_fs_t *req, const char *path, uv_uid_t uid, uv_gid_t gid, uv_fs_cb cb);
*/

static void uvffi__fs_cleanup(uv_req_t *req) { uv_fs_req_cleanup((uv_fs_t *)req); }

static const uvffi_rkind_t uvffi__rkind_fs = {"fs", UV_FS, uvffi__fs_cleanup};

/* libuv's callback for every fs request uvffi submits: on the loop thread. */
void uvffi_fs_cb(uv_fs_t *req)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
    uvffi_loop_t *lp = r->lp;
    GIL_ENTER(lp)
    uvffi__req_done(r, req->result < 0 ? (int)req->result : 0);
    GIL_LEAVE(lp)
}
