/*
 * The fleet benchmark's floor: the least a blocking TCP health checker does per check.
 *
 *     floor PORT INTERVAL_SECONDS
 *
 * Every interval: socket, a blocking connect to 127.0.0.1:PORT, blocking reads until "OK" or
 * the end of the reply, close, nanosleep. No timeouts, no signal handling, no logging, no
 * allocation: any real checker does at least this much. SIGTERM ends it (default action).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	double interval = atof(argv[2]);
	struct timespec ts;
	ts.tv_sec = (time_t)interval;
	ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);
	volatile int up = 0;
	char buf[64];
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = 0;
		if (fd >= 0) {
			if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
				size_t got = 0;
				ssize_t n;
				while (got < 2 && (n = read(fd, buf + got, sizeof buf - got)) > 0)
					got += (size_t)n;
				ok = got >= 2 && memcmp(buf, "OK", 2) == 0;
			}
			close(fd);
		}
		up = ok;
		nanosleep(&ts, NULL);
	}
}
