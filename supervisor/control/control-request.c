/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "control-request.h"

#include <errno.h>
#include <string.h>

#include "cfs-util.h"

static bool word_is(const char *w, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(w, s, n) == 0;
}

static int parse_command(const char *w, size_t n, struct control_request *req, bool *json_ok)
{
	int i = cfs_control_command_find(w, n);

	if (i < 0)
		return -EINVAL;
	req->cmd = (enum cfs_control_cmd)i;
	*json_ok = cfs_control_commands[i].takes_json;
	return 0;
}

static int invalid(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

/* The next blank-separated word from *pos, or NULL at the end. */
static const char *next_word(const char *line, size_t len, size_t *pos, size_t *n)
{
	while (*pos < len && line[*pos] == ' ')
		(*pos)++;
	if (*pos == len)
		return NULL;
	for (*n = 0; *pos + *n < len && line[*pos + *n] != ' ';)
		(*n)++;
	*pos += *n;
	return line + *pos - *n;
}

int control_parse_request(const char *line, size_t len, struct control_request *req, const char **why)
{
	bool json_ok = false;
	size_t pos = 0, n = 0;
	const char *w;

	*req = (struct control_request){ 0 };
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			return invalid(why, "the request holds a byte that is not printable ASCII");
	w = next_word(line, len, &pos, &n);
	if (!w)
		return invalid(why, "empty request");
	if (parse_command(w, n, req, &json_ok) < 0)
		return invalid(why, "unknown command (try " CFS_CONTROL_COMMAND_LIST ")");
	while ((w = next_word(line, len, &pos, &n))) {
		if (!json_ok)
			return invalid(why, "this command takes no argument");
		if (req->json || !word_is(w, n, "--json"))
			return invalid(why, "unexpected argument (only --json, once)");
		req->json = true;
	}
	return 0;
}
