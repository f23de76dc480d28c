/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Legacy PC ports: the MC146818 RTC's CMOS registers, the i8042's reset,
 * the POST port, and the count of everything else.
 */
#include <string.h>
#include <time.h>

#include "legacy.h"

#define PORT_I8042_DATA		0x60
#define PORT_I8042_CMD		0x64
#define PORT_POST		0x80
#define PORT_CMOS_INDEX		0x70
#define PORT_CMOS_DATA		0x71
#define I8042_RESET		0xfe

enum { RTC_SEC = 0, RTC_MIN = 2, RTC_HOUR = 4, RTC_WDAY = 6, RTC_MDAY = 7,
       RTC_MON = 8, RTC_YEAR = 9, RTC_A = 0x0a, RTC_B = 0x0b, RTC_C = 0x0c,
       RTC_D = 0x0d, RTC_CENTURY = 0x32 };

#define RTC_A_DEFAULT	0x26	/* 32.768 kHz, 1024 Hz; UIP (bit 7) clear */
#define RTC_B_DEFAULT	0x02	/* 24-hour, BCD */
#define RTC_B_BINARY	0x04
#define RTC_D_VALID	0x80	/* battery good */

void legacy_init(struct legacy *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->cmos[RTC_A] = RTC_A_DEFAULT;
	l->cmos[RTC_B] = RTC_B_DEFAULT;
	l->cmos[RTC_D] = RTC_D_VALID;
}

void legacy_destroy(struct legacy *l)
{
	pthread_mutex_destroy(&l->lock);
}

static uint8_t rtc_value(const struct legacy *l, int v)
{
	if (l->cmos[RTC_B] & RTC_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

/* The clock registers read the host's time (UTC) at each read. */
static uint8_t cmos_read(struct legacy *l, uint8_t index)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (index) {
	case RTC_SEC: return rtc_value(l, tm.tm_sec);
	case RTC_MIN: return rtc_value(l, tm.tm_min);
	case RTC_HOUR: return rtc_value(l, tm.tm_hour);
	case RTC_WDAY: return rtc_value(l, tm.tm_wday + 1);
	case RTC_MDAY: return rtc_value(l, tm.tm_mday);
	case RTC_MON: return rtc_value(l, tm.tm_mon + 1);
	case RTC_YEAR: return rtc_value(l, tm.tm_year % 100);
	case RTC_CENTURY: return rtc_value(l, 19 + tm.tm_year / 100);
	case RTC_C: return 0;		/* no interrupt flags */
	default: return l->cmos[index & 0x7f];
	}
}

/* Clock, C and D are read-only here: the guest cannot set the time. */
static void cmos_write(struct legacy *l, uint8_t index, uint8_t v)
{
	if (index <= RTC_YEAR || index == RTC_C || index == RTC_D ||
	    index == RTC_CENTURY)
		return;
	if (index == RTC_A)
		v &= 0x7f;		/* UIP is read-only */
	l->cmos[index & 0x7f] = v;
}

static void count_unknown(struct legacy *l, uint16_t port, bool is_write)
{
	struct legacy_port_count *c = NULL;

	for (unsigned i = 0; i < l->nunknown && !c; i++)
		if (l->unknown[i].port == port)
			c = &l->unknown[i];
	if (!c && l->nunknown < LEGACY_MAX_UNKNOWN) {
		c = &l->unknown[l->nunknown++];
		c->port = port;
	}
	if (!c)
		l->unknown_other++;
	else if (is_write)
		c->writes++;
	else
		c->reads++;
}

enum legacy_result legacy_io(struct legacy *l, uint16_t port, bool is_write,
			     uint8_t *data, unsigned size)
{
	enum legacy_result r = LEGACY_DONE;

	pthread_mutex_lock(&l->lock);
	if (port == PORT_CMOS_INDEX && is_write) {
		l->cmos_index = data[0] & 0x7f;		/* bit 7: NMI mask */
	} else if (port == PORT_CMOS_DATA && size == 1) {
		if (is_write)
			cmos_write(l, l->cmos_index, data[0]);
		else
			data[0] = cmos_read(l, l->cmos_index);
	} else if (port == PORT_POST && is_write) {
		l->post_writes++;
	} else if (port == PORT_I8042_CMD && is_write && data[0] == I8042_RESET) {
		r = LEGACY_RESET;
	} else {
		/* The i8042's other accesses read 0xff: "no controller". */
		if (port != PORT_I8042_CMD && port != PORT_I8042_DATA)
			count_unknown(l, port, is_write);
		if (!is_write)
			memset(data, 0xff, size);
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

void legacy_report(struct legacy *l, FILE *f, const char *prefix)
{
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->nunknown; i++)
		fprintf(f, "%sunknown port 0x%x: %llu reads, %llu writes\n", prefix,
			l->unknown[i].port, (unsigned long long)l->unknown[i].reads,
			(unsigned long long)l->unknown[i].writes);
	if (l->unknown_other)
		fprintf(f, "%s%llu more accesses to other unknown ports\n", prefix,
			(unsigned long long)l->unknown_other);
	pthread_mutex_unlock(&l->lock);
}
