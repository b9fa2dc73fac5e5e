/*
 * bench-real: the real kernel's side of `npm run bench` (scripts/bench.mjs compiles it with `cc`
 * into a temporary directory at bench time; python3's mmap module is the fallback).
 *
 *   bench-real munmap BYTES        populate BYTES of private anonymous memory (MADV_NOHUGEPAGE,
 *                                  one write per 4 KiB page), then time munmap() of all of it
 *   bench-real truncate BYTES PATH [readahead]
 *                                  create PATH with BYTES, map it shared (MADV_NOHUGEPAGE, and
 *                                  MADV_RANDOM unless "readahead": no readahead, so the page cache
 *                                  holds order-0 folios as pinsim's model does), read one byte per
 *                                  page (clean page-cache pages), then time ftruncate(fd, 0); PATH
 *                                  is unlinked at once
 *   bench-real munmap-thp BYTES    the same as munmap on a 2 MiB-aligned mapping with MADV_HUGEPAGE
 *                                  (one write per 4 KiB page: PMD-mapped THP where the kernel can)
 *   bench-real truncate-large BYTES PATH
 *                                  the same as truncate with readahead on and MADV_HUGEPAGE, so a
 *                                  filesystem with large folios caches 2 MiB folios
 *
 * The two THP modes print a second number: the bytes that were huge (AnonHugePages of the process
 * for munmap-thp; the growth of FileHugePages in /proc/meminfo for truncate-large), so the caller
 * can say how much of the memory really was in 2 MiB folios.
 *
 * Prints the timed call's CPU time in ns (CLOCK_THREAD_CPUTIME_ID: the kernel's work for the call,
 * which does not count the time other jobs on a shared machine take) on stdout; exit 1 on any
 * failure.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The kB value of the first line starting with @key in @file, in bytes (0 when absent). */
static unsigned long long kb_field(const char *file, const char *key)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			v = strtoull(line + strlen(key), NULL, 10) * 1024;
			break;
		}
	fclose(f);
	return v;
}

static int bench_munmap_thp(size_t len, long ps)
{
	size_t huge = 2UL << 20;
	char *raw = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;
	unsigned long long thp;
	double t0, t1;

	if (raw == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	p = (char *)(((unsigned long)raw + huge - 1) & ~(huge - 1));
	if (madvise(p, len, MADV_HUGEPAGE))
		perror("madvise(MADV_HUGEPAGE)");
	for (size_t i = 0; i < len; i += (size_t)ps)
		p[i] = 1;
	thp = kb_field("/proc/self/smaps_rollup", "AnonHugePages:");
	t0 = now_ns();
	if (munmap(p, len)) {
		perror("munmap");
		return 1;
	}
	t1 = now_ns();
	printf("%.0f %llu\n", t1 - t0, thp);
	munmap(raw, len + huge);
	return 0;
}

static int bench_truncate_large(size_t len, long ps, const char *path)
{
	volatile char sink = 0;
	unsigned long long before, after;
	double t0, t1;
	char *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0) {
		perror("open");
		return 1;
	}
	unlink(path);
	if (ftruncate(fd, (off_t)len)) {
		perror("ftruncate");
		return 1;
	}
	before = kb_field("/proc/meminfo", "FileHugePages:");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(p, len, MADV_HUGEPAGE);
	for (size_t i = 0; i < len; i += (size_t)ps)
		sink += p[i];
	after = kb_field("/proc/meminfo", "FileHugePages:");
	t0 = now_ns();
	if (ftruncate(fd, 0)) {
		perror("ftruncate");
		return 1;
	}
	t1 = now_ns();
	printf("%.0f %llu\n", t1 - t0, after > before ? after - before : 0);
	munmap(p, len);
	close(fd);
	return 0;
}

static int bench_munmap(size_t len, long ps)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t1;

	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (madvise(p, len, MADV_NOHUGEPAGE))
		perror("madvise(MADV_NOHUGEPAGE)");
	for (size_t i = 0; i < len; i += (size_t)ps)
		p[i] = 1;
	t0 = now_ns();
	if (munmap(p, len)) {
		perror("munmap");
		return 1;
	}
	t1 = now_ns();
	printf("%.0f\n", t1 - t0);
	return 0;
}

static int bench_truncate(size_t len, long ps, const char *path, int readahead)
{
	volatile char sink = 0;
	double t0, t1;
	char *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0) {
		perror("open");
		return 1;
	}
	unlink(path);
	if (ftruncate(fd, (off_t)len)) {
		perror("ftruncate");
		return 1;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	if (!readahead && madvise(p, len, MADV_RANDOM))
		perror("madvise(MADV_RANDOM)");
	for (size_t i = 0; i < len; i += (size_t)ps)
		sink += p[i];
	t0 = now_ns();
	if (ftruncate(fd, 0)) {
		perror("ftruncate");
		return 1;
	}
	t1 = now_ns();
	printf("%.0f\n", t1 - t0);
	munmap(p, len);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	long ps = sysconf(_SC_PAGESIZE);
	size_t len;

	if (argc < 3) {
		fprintf(stderr, "usage: %s munmap BYTES | munmap-thp BYTES | truncate BYTES PATH [readahead] | truncate-large BYTES PATH\n", argv[0]);
		return 1;
	}
	len = (size_t)strtoull(argv[2], NULL, 10);
	if (!strcmp(argv[1], "munmap"))
		return bench_munmap(len, ps);
	if (!strcmp(argv[1], "munmap-thp"))
		return bench_munmap_thp(len, ps);
	if (!strcmp(argv[1], "truncate-large") && argc >= 4)
		return bench_truncate_large(len, ps, argv[3]);
	if (!strcmp(argv[1], "truncate") && argc >= 4)
		return bench_truncate(len, ps, argv[3], argc >= 5 && !strcmp(argv[4], "readahead"));
	fprintf(stderr, "usage: %s munmap BYTES | munmap-thp BYTES | truncate BYTES PATH [readahead] | truncate-large BYTES PATH\n", argv[0]);
	return 1;
}
