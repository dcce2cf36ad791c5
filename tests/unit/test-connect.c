/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CONNECT requests judged against a domain, and the broker connecting for real on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "cfs-log.h"
#include "check.h"
#include "connect-check.h"
#include "netcheck.h"
#include "reply.h"
#include "wire-io.h"

int cfs_log_max_priority = LOG_DEBUG;

static struct remote_settings registry(void)
{
	struct remote_settings rs = {
		.origin = { .kind = ORIGIN_REGISTRY, .host = "Registry.example", .port = 443, .path = "library/app" }
	};
	return rs;
}

/* connect_check's verdict; where it connects in *to, why in why (both may be NULL). */
static int check_to(const struct remote_settings *rs, uint16_t purpose, const char *host, uint16_t port,
		    struct connect_target *to, char why[512])
{
	struct wire_connect m = { .purpose = purpose, .port = port };
	struct connect_target ignored;
	char scratch[512];

	snprintf(m.host, sizeof(m.host), "%s", host);
	return connect_check(rs, &m, to ? to : &ignored, why ? why : scratch, 512);
}

static int check(const struct remote_settings *rs, uint16_t purpose, const char *host, uint16_t port)
{
	return check_to(rs, purpose, host, port, NULL, NULL);
}

static void test_origin_only(void)
{
	struct remote_settings rs = registry(), local = { 0 };
	struct connect_target to;

	CHECK_EQ(check_to(&rs, WIRE_CONNECT_ORIGIN, "registry.example", 443, &to, NULL), 0); /* without case */
	CHECK(strcmp(to.host, "Registry.example") == 0 && to.port == 443);		     /* the config's name */
	CHECK_EQ(check(&rs, WIRE_CONNECT_ORIGIN, "registry.example", 80), -EPROTO);
	CHECK_EQ(check(&rs, WIRE_CONNECT_ORIGIN, "evil.example", 443), -EPROTO);
	CHECK_EQ(check(&rs, WIRE_CONNECT_ORIGIN, "registry.example.evil", 443), -EPROTO);
	CHECK_EQ(check(&rs, WIRE_CONNECT_PROXY, "registry.example", 443), -EPROTO); /* no proxy configured */
	CHECK_EQ(check(&rs, 0, "registry.example", 443), -EPROTO);
	CHECK_EQ(check(&rs, 77, "registry.example", 443), -EPROTO);
	/* a redirect elsewhere, with no redirect_hosts: refused, not a breach */
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "s3.example", 443), -EPERM);
	/* a local domain's worker never connects */
	CHECK_EQ(check(&local, WIRE_CONNECT_ORIGIN, "registry.example", 443), -EPROTO);
}

static struct remote_settings with_redirects(void)
{
	struct remote_settings rs = registry();

	rs.redirect = (struct redirect_settings){
		.hosts = { { "S3.example", 443 }, { "127.0.0.1", 9443 }, { "[::1]", 9000 } },
		.n = 3,
	};
	return rs;
}

static void test_redirect_hosts(void)
{
	struct remote_settings rs = with_redirects();
	struct connect_target to;
	char why[512];

	CHECK_EQ(check_to(&rs, WIRE_CONNECT_REDIRECT, "s3.example", 443, &to, NULL), 0);
	CHECK(strcmp(to.host, "S3.example") == 0 && to.port == 443);
	CHECK_EQ(check_to(&rs, WIRE_CONNECT_REDIRECT, "127.0.0.1", 9443, &to, NULL), 0);
	CHECK(strcmp(to.host, "127.0.0.1") == 0 && to.port == 9443);
	/* a loopback literal on the list is one the config names: the broker may connect to it */
	CHECK(broker_host_is_local_literal(to.host));
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "[::1]", 9000), 0);
	/* another port is another host */
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "s3.example", 444), -EPERM);
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "127.0.0.1", 443), -EPERM);
	CHECK_EQ(check_to(&rs, WIRE_CONNECT_REDIRECT, "evil.example", 443, NULL, why), -EPERM);
	CHECK(strstr(why, "evil.example:443") && strstr(why, "redirect_hosts"));
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "s3.example.evil", 443), -EPERM);
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "localhost", 9443), -EPERM);
	/* the origin is asked for as such, never as a redirect; a listed host is no origin */
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "registry.example", 443), -EPERM);
	CHECK_EQ(check(&rs, WIRE_CONNECT_ORIGIN, "s3.example", 443), -EPROTO);
	CHECK_EQ(check(&rs, WIRE_CONNECT_PROXY, "s3.example", 443), -EPROTO);
}

static void test_proxy(void)
{
	struct remote_settings rs = with_redirects();
	struct connect_target to;

	rs.proxy = (struct proxy_settings){ .host = "127.0.0.1", .port = 8888 };
	CHECK_EQ(check_to(&rs, WIRE_CONNECT_PROXY, "127.0.0.1", 8888, &to, NULL), 0);
	CHECK(strcmp(to.host, "127.0.0.1") == 0 && to.port == 8888);
	CHECK_EQ(check(&rs, WIRE_CONNECT_PROXY, "127.0.0.1", 8889), -EPROTO);
	/* with a proxy, a direct connection is not what libcurl asks for */
	CHECK_EQ(check(&rs, WIRE_CONNECT_ORIGIN, "registry.example", 443), -EPROTO);
	/* a listed redirect host goes through the proxy, as every connection of the domain */
	CHECK_EQ(check_to(&rs, WIRE_CONNECT_REDIRECT, "s3.example", 443, &to, NULL), 0);
	CHECK(strcmp(to.host, "127.0.0.1") == 0 && to.port == 8888);
	/* and one not on the list is refused there too */
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "evil.example", 443), -EPERM);
	rs.redirect.n = 0;
	CHECK_EQ(check(&rs, WIRE_CONNECT_REDIRECT, "s3.example", 443), -EPERM);
}

static void test_host_unterminated(void)
{
	struct remote_settings rs = registry();
	struct wire_connect m = { .purpose = WIRE_CONNECT_ORIGIN, .port = 443 };
	struct connect_target to;
	char why[512];

	memset(m.host, 'a', sizeof(m.host));
	CHECK_EQ(connect_check(&rs, &m, &to, why, sizeof(why)), -EPROTO);
}

static void test_local_addresses(void)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
	CHECK(!broker_address_allowed(&v4, false));
	CHECK(broker_address_allowed(&v4, true));
	inet_pton(AF_INET, "169.254.169.254", &v4.sin_addr); /* a cloud's metadata service */
	CHECK(!broker_address_allowed(&v4, false));
	inet_pton(AF_INET, "0.0.0.0", &v4.sin_addr);
	CHECK(!broker_address_allowed(&v4, false));
	inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
	CHECK(broker_address_allowed(&v4, false));
	inet_pton(AF_INET6, "::1", &v6.sin6_addr);
	CHECK(!broker_address_allowed(&v6, false));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
	CHECK(!broker_address_allowed(&v6, false));
	inet_pton(AF_INET6, "fe80::1", &v6.sin6_addr);
	CHECK(!broker_address_allowed(&v6, false));
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	CHECK(broker_address_allowed(&v6, false));
	CHECK(broker_host_is_local_literal("127.0.0.1"));
	CHECK(broker_host_is_local_literal("[::1]"));
	CHECK(!broker_host_is_local_literal("localhost")); /* a name: resolved, and its loopback refused */
	CHECK(!broker_host_is_local_literal("192.0.2.7"));
}

/* Asks the broker for host:port; its answer's result, the fd in *fd. */
static int ask(int sock, const char *host, uint16_t port, bool local_ok, int *fd)
{
	struct broker_request rq = { .id = 7, .port = port, .local_ok = local_ok, .timeout_ms = 5000 };
	struct broker_answer a;
	union wire_msg raw;
	unsigned nfds;
	struct pollfd p = { .fd = sock, .events = POLLIN };

	snprintf(rq.host, sizeof(rq.host), "%s", host);
	CHECK(send(sock, &rq, sizeof(rq), 0) == sizeof(rq));
	CHECK(poll(&p, 1, 10000) == 1);
	CHECK_EQ(wire_recv(sock, &raw, fd, &nfds, 0), sizeof(a));
	memcpy(&a, &raw, sizeof(a));
	CHECK_EQ(a.id, 7);
	CHECK_EQ(nfds, a.result == 0 ? 1 : 0);
	if (a.result == 0)
		CHECK(strcmp(a.peer, "127.0.0.1") == 0);
	return a.result;
}

/* The broker under its seccomp filter resolves and connects, and refuses loopback unless allowed. */
static void test_broker_connects(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), pidfd, sock, fd, status;
	struct remote_settings rs = registry();
	struct connect_target to;
	pid_t pid;
	char byte = 'x';

	CHECK(listener >= 0);
	CHECK(bind(listener, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CHECK(listen(listener, 4) == 0);
	CHECK(getsockname(listener, (struct sockaddr *)&addr, &len) == 0);
	CHECK_EQ(broker_start(getuid(), getgid(), &pid, &pidfd, &sock), 0);
	fcntl(sock, F_SETFL, 0);

	CHECK_EQ(ask(sock, "127.0.0.1", ntohs(addr.sin_port), true, &fd), 0);
	CHECK(send(fd, &byte, 1, 0) == 1); /* connected, and usable by us */
	close(fd);
	/* a name that resolves to loopback is refused: only a configured literal may be local */
	CHECK_EQ(ask(sock, "localhost", ntohs(addr.sin_port), false, &fd), -EACCES);
	CHECK_EQ(ask(sock, "127.0.0.1", ntohs(addr.sin_port), false, &fd), -EACCES);
	/* redirect hosts, as connect.c asks for them: a listed name that resolves to loopback is refused */
	rs.redirect = (struct redirect_settings){
		.hosts = { { "localhost", ntohs(addr.sin_port) }, { "127.0.0.1", ntohs(addr.sin_port) } }, .n = 2
	};
	CHECK_EQ(check_to(&rs, WIRE_CONNECT_REDIRECT, "localhost", ntohs(addr.sin_port), &to, NULL), 0);
	CHECK_EQ(ask(sock, to.host, to.port, broker_host_is_local_literal(to.host), &fd), -EACCES);
	CHECK_EQ(check_to(&rs, WIRE_CONNECT_REDIRECT, "127.0.0.1", ntohs(addr.sin_port), &to, NULL), 0);
	CHECK_EQ(ask(sock, to.host, to.port, broker_host_is_local_literal(to.host), &fd), 0);
	close(fd);
	/* the broker is alive after all that (its seccomp filter allowed what it did) */
	close(sock);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(pidfd);
	close(listener);
}

/* /proc/self/net/dev as a host and as PrivateNetwork=yes show it. */
static void test_interfaces_beside_lo(void)
{
	static const char head[] = "Inter-|   Receive                |  Transmit\n"
				   " face |bytes    packets errs|bytes    packets\n";
	char text[512];
	char why[512];
	struct remote_settings rs = registry();

	snprintf(text, sizeof(text), "%s    lo: 100 1 0 0\n  eth0: 200 2 0 0\n", head);
	CHECK(netcheck_interfaces_beside_lo(text) == 1);
	snprintf(text, sizeof(text), "%s    lo: 100 1 0 0\n", head);
	CHECK(netcheck_interfaces_beside_lo(text) == 0);
	snprintf(text, sizeof(text), "%s  lo0x: 1 1\n    lo: 1 1\n br-1: 1 1", head);
	CHECK(netcheck_interfaces_beside_lo(text) == 2);
	CHECK(netcheck_interfaces_beside_lo("") == 0);
	/* A loopback literal needs lo only: this host (with or without more) has it. */
	snprintf(rs.origin.host, sizeof(rs.origin.host), "127.0.0.1");
	CHECK(netcheck_origin_reachable(&rs, why, sizeof(why)));
}

/* FETCH_STATS as the supervisor takes it: deltas within bounds, framed right. */
static void test_fetch_stats_reply(void)
{
	struct wire_fetch_stats m = { .bytes = 65536, .requests = 2, .connects = 1, .retries = 1, .bad_chunks = 1 };
	struct worker_reply out;
	const char *why = NULL;

	wire_init(&m.hdr, WIRE_FETCH_STATS);
	CHECK_EQ(reply_parse(&m, sizeof(m), 0, &out, &why), 0);
	CHECK(out.type == WIRE_FETCH_STATS && out.fetch_stats.bytes == 65536 && out.fetch_stats.bad_chunks == 1);
	CHECK_EQ(reply_parse(&m, sizeof(m), 1, &out, &why), -EBADMSG); /* no fd rides along */
	CHECK_EQ(reply_parse(&m, sizeof(m) - 8, 0, &out, &why), -EBADMSG);
	m.failures = REPLY_MAX_FETCH_DELTA + 1;
	CHECK_EQ(reply_parse(&m, sizeof(m), 0, &out, &why), -EBADMSG);
	CHECK(why && strstr(why, "impossible counts"));
}

int main(void)
{
	RUN(test_origin_only);
	RUN(test_redirect_hosts);
	RUN(test_proxy);
	RUN(test_host_unterminated);
	RUN(test_local_addresses);
	RUN(test_broker_connects);
	RUN(test_interfaces_beside_lo);
	RUN(test_fetch_stats_reply);
	return 0;
}
