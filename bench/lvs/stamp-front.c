/*
 * Bench-only front for the recording ipvsadm stand-in, the compiled twin of stamping-ipvsadm.sh
 * (used when a C compiler is available): a process that starts in well under a millisecond, as
 * /sbin/ipvsadm does. For `-R` it reads all of stdin, appends the wall-clock time in ns to
 * $STAMP_LOG (the moment a real ipvsadm would start applying), then execs the stand-in
 * ($FAKE_IPVSADM_BIN) with the same input; anything else is exec'd straight away.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
  perror(what);
  return 2;
}

int main(int argc, char **argv) {
  const char *fake = getenv("FAKE_IPVSADM_BIN");
  const char *stamps = getenv("STAMP_LOG");
  if (fake == NULL || stamps == NULL) {
    fprintf(stderr, "stamp-front: set FAKE_IPVSADM_BIN and STAMP_LOG\n");
    return 2;
  }
  if (argc > 1 && strcmp(argv[1], "-R") == 0) {
    int fd = memfd_create("ipvsadm-input", 0);
    if (fd < 0) return fail("memfd_create");
    char buf[65536];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
      if (write(fd, buf, (size_t)n) != n) return fail("write");
    }
    if (n < 0) return fail("read");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    FILE *f = fopen(stamps, "a");
    if (f == NULL) return fail(stamps);
    fprintf(f, "%lld%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
    fclose(f);
    if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, 0) < 0) return fail("stdin");
    close(fd);
  }
  argv[0] = (char *)fake;
  execv(fake, argv);
  return fail(fake);
}
