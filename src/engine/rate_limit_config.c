/*-------------------------------------------------------------------------
 *
 * rate_limit_config.c
 *	  The bedrock.rate_limits setting: which request and token budgets the
 *	  DBA gives each model.
 *
 * The value is a comma-separated list of rules, each a model pattern
 * followed by one or both limits:
 *
 *	  openai.gpt-oss-20b-1:0 rpm=600 tpm=200000, anthropic.* rpm=100, * rpm=1000
 *
 * A pattern is a model id (or inference profile id, or ARN) matched
 * exactly, a prefix ending in '*', or '*' alone for every model.  A model
 * takes the rule of its exact pattern, else of its longest matching
 * prefix; each model so limited has its own budget (Bedrock's quotas are
 * per model).  rpm is requests per minute, tpm tokens (input + output) per
 * minute.  The check hook parses the value once into a single allocation
 * (the GUC "extra"), so that looking a model up on every call parses
 * nothing.
 *
 * Rules and budgets are about base models: the limiter reduces every
 * model id it is given, and every pattern, to the foundation model it
 * names (rate_limit_base_model), so that a foundation-model ARN, a
 * cross-region inference profile ("us.", "eu.", "global." ...) or its ARN
 * is limited, and counted, as the model itself.  Otherwise any caller
 * could step around "anthropic.* rpm=100" by calling
 * "us.anthropic.claude-..." instead.  Identifiers that do not name a
 * foundation model (application inference profiles, provisioned or
 * custom model ARNs) are kept as they are.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/engine/rate_limit_config.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "bedrock_fdw.h"
#include "rate_limiter.h"
#include "usage.h"

#define RATE_LIMIT_MAX_VALUE INT64CONST(1000000000000)

typedef struct RateLimitRule
{
	char		pattern[USAGE_MODEL_MAXLEN];	/* without the trailing '*' */
	bool		is_prefix;		/* pattern ended in '*' */
	ModelRateLimit limit;
} RateLimitRule;

typedef struct RateLimitRules
{
	int			nrules;
	RateLimitRule rules[FLEXIBLE_ARRAY_MEMBER];
} RateLimitRules;

/* the rules in force (the GUC's extra), NULL when none */
static const RateLimitRules *current_rules = NULL;

/*
 * Geographic prefixes of the system-defined (cross-region) inference
 * profiles: "us.anthropic.claude-..." routes anthropic.claude-...
 */
static const char *const profile_geographies[] = {
	"us.", "us-gov.", "eu.", "apac.", "global.", "jp.", "au.", "ca.",
};

/* The ARN resource types whose id is a foundation model or a profile. */
static const char *const model_arn_resources[] = {
	"foundation-model/", "inference-profile/",
};

/*
 * base_model
 *		The foundation model id that id names: id itself, or a suffix of it
 *		with a bedrock ARN's "arn:PARTITION:bedrock:REGION:ACCOUNT:" and
 *		"foundation-model/" or "inference-profile/" removed, then a
 *		cross-region profile's geography ("us.", "eu.", ...) when a
 *		"provider.model" follows it, or, for a prefix pattern, anything.
 *		Returns a pointer into id; never allocates, never raises.
 */
static const char *
base_model(const char *id, bool prefix)
{
	if (strncmp(id, "arn:", 4) == 0)
	{
		/* arn:partition:service:region:account:resource */
		const char *field[6];
		int			nfields = 0;
		const char *p = id;

		field[nfields++] = p;
		while (nfields < 6 && (p = strchr(p, ':')) != NULL)
			field[nfields++] = ++p;
		if (nfields == 6 && strncmp(field[2], "bedrock:", 8) == 0)
		{
			for (int i = 0; i < lengthof(model_arn_resources); i++)
			{
				size_t		len = strlen(model_arn_resources[i]);

				if (strncmp(field[5], model_arn_resources[i], len) == 0)
				{
					id = field[5] + len;
					break;
				}
			}
		}
	}
	for (int i = 0; i < lengthof(profile_geographies); i++)
	{
		size_t		len = strlen(profile_geographies[i]);

		if (strncmp(id, profile_geographies[i], len) == 0 &&
			(prefix || (id[len] != '.' && strchr(id + len, '.') != NULL)))
		{
			id += len;
			break;
		}
	}
	return id;
}

/*
 * rate_limit_base_model
 *		The foundation model whose budget and rule a call on model uses
 *		(see the file header): a pointer into model.  Never raises.
 */
const char *
rate_limit_base_model(const char *model)
{
	return base_model(model, false);
}

/* Skip spaces and tabs. */
static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * parse_limit
 *		Parse "rpm=N" or "tpm=N" at *p into rule, advancing *p.  False, with
 *		the GUC error detail set, when it is neither.
 */
static bool
parse_limit(const char **p, const char *pattern, RateLimitRule *rule)
{
	const char *s = *p;
	int64	   *target;
	int64		value = 0;
	int			digits = 0;

	if (strncmp(s, "rpm=", 4) == 0)
		target = &rule->limit.requests_per_minute;
	else if (strncmp(s, "tpm=", 4) == 0)
		target = &rule->limit.tokens_per_minute;
	else
	{
		GUC_check_errdetail("Rule \"%s\": expected rpm=N or tpm=N after the model pattern.", pattern);
		return false;
	}
	if (*target != 0)
	{
		GUC_check_errdetail("Rule \"%s\" sets %.3s twice.", pattern, s);
		return false;
	}
	for (s += 4; isdigit((unsigned char) *s); s++, digits++)
	{
		if (value <= RATE_LIMIT_MAX_VALUE)
			value = value * 10 + (*s - '0');
	}
	if (digits == 0 || value <= 0 || value > RATE_LIMIT_MAX_VALUE)
	{
		GUC_check_errdetail("Rule \"%s\": a limit is a positive whole number of at most " INT64_FORMAT ".",
							pattern, RATE_LIMIT_MAX_VALUE);
		return false;
	}
	if (*s != '\0' && *s != ' ' && *s != '\t' && *s != ',')
	{
		GUC_check_errdetail("Rule \"%s\": unexpected character after a limit.", pattern);
		return false;
	}
	*target = value;
	*p = s;
	return true;
}

/*
 * parse_rule
 *		Parse one rule at *p (up to a comma or the end) into rule, advancing
 *		*p.  False, with the GUC error detail set, when it is malformed.
 */
static bool
parse_rule(const char **p, RateLimitRule *rule)
{
	const char *s = skip_blanks(*p);
	const char *start = s;
	const char *base;
	size_t		len;

	while (*s != '\0' && *s != ' ' && *s != '\t' && *s != ',')
	{
		if ((unsigned char) *s < ' ' || *s == 0x7f || *s == '=')
		{
			GUC_check_errdetail("A rule starts with a model id or pattern, such as \"openai.gpt-oss-20b-1:0 rpm=600\".");
			return false;
		}
		s++;
	}
	len = s - start;
	if (len == 0)
	{
		GUC_check_errdetail("A rule is empty: each comma-separated rule is a model pattern followed by rpm=N and/or tpm=N.");
		return false;
	}
	if (len >= USAGE_MODEL_MAXLEN)
	{
		GUC_check_errdetail("A model pattern is longer than %d characters.", USAGE_MODEL_MAXLEN - 1);
		return false;
	}
	memset(rule, 0, sizeof(*rule));
	memcpy(rule->pattern, start, len);
	if (rule->pattern[len - 1] == '*')
	{
		rule->is_prefix = true;
		rule->pattern[len - 1] = '\0';
	}
	if (strchr(rule->pattern, '*') != NULL)
	{
		GUC_check_errdetail("Pattern \"%.*s\": '*' may only end a pattern.", (int) len, start);
		return false;
	}

	/* a rule is about the base model, as the ids it is matched against */
	base = base_model(rule->pattern, rule->is_prefix);
	if (base != rule->pattern)
	{
		if (*base == '\0')
		{
			GUC_check_errdetail("Pattern \"%.*s\" names no model: rules apply to base model ids, and an ARN or inference profile id is limited as the model it names.",
								(int) len, start);
			GUC_check_errhint("Write the model's pattern, such as \"anthropic.*\" for \"us.anthropic.*\".");
			return false;
		}
		memmove(rule->pattern, base, strlen(base) + 1);
	}

	s = skip_blanks(s);
	while (*s != '\0' && *s != ',')
	{
		if (!parse_limit(&s, rule->pattern, rule))
			return false;
		s = skip_blanks(s);
	}
	if (rule->limit.requests_per_minute == 0 && rule->limit.tokens_per_minute == 0)
	{
		GUC_check_errdetail("Rule \"%.*s\" sets no limit: add rpm=N and/or tpm=N.", (int) len, start);
		return false;
	}
	*p = s;
	return true;
}

/*
 * rate_limits_check_hook
 *		Validate bedrock.rate_limits and parse it into *extra.
 */
bool
rate_limits_check_hook(char **newval, void **extra, GucSource source)
{
	const char *p = *newval ? *newval : "";
	int			maxrules = 1;
	RateLimitRules *rules;

	for (const char *c = p; *c; c++)
		if (*c == ',')
			maxrules++;
	rules = BedrockGucMalloc(offsetof(RateLimitRules, rules) +
							 sizeof(RateLimitRule) * maxrules);
	if (rules == NULL)
		return false;
	rules->nrules = 0;

	if (*skip_blanks(p) != '\0')
	{
		for (;;)
		{
			RateLimitRule *rule = &rules->rules[rules->nrules];

			if (!parse_rule(&p, rule))
			{
				BedrockGucFree(rules);
				return false;
			}
			for (int i = 0; i < rules->nrules; i++)
			{
				if (rules->rules[i].is_prefix == rule->is_prefix &&
					strcmp(rules->rules[i].pattern, rule->pattern) == 0)
				{
					GUC_check_errdetail("Pattern \"%s%s\" appears twice.", rule->pattern,
										rule->is_prefix ? "*" : "");
					GUC_check_errhint("An ARN or inference profile id in a pattern counts as the model it names.");
					BedrockGucFree(rules);
					return false;
				}
			}
			rules->nrules++;
			if (*p == '\0')
				break;
			p++;				/* the comma */
		}
	}
	*extra = rules;
	return true;
}

/*
 * rate_limits_assign_hook
 *		Put the parsed rules in force.
 */
void
rate_limits_assign_hook(const char *newval, void *extra)
{
	current_rules = (const RateLimitRules *) extra;
}

/* True when at least one rule is set. */
bool
rate_limits_configured(void)
{
	return current_rules != NULL && current_rules->nrules > 0;
}

/*
 * rate_limit_for_model
 *		The limits of model, a base model id (rate_limit_base_model): its
 *		exact rule, else its longest matching prefix rule, else none
 *		(zeros).
 */
void
rate_limit_for_model(const char *model, ModelRateLimit *limit)
{
	const RateLimitRule *best = NULL;

	memset(limit, 0, sizeof(*limit));
	if (current_rules == NULL)
		return;
	for (int i = 0; i < current_rules->nrules; i++)
	{
		const RateLimitRule *rule = &current_rules->rules[i];

		if (!rule->is_prefix)
		{
			if (strcmp(model, rule->pattern) == 0)
			{
				best = rule;
				break;
			}
		}
		else if (strncmp(model, rule->pattern, strlen(rule->pattern)) == 0 &&
				 (best == NULL || strlen(rule->pattern) > strlen(best->pattern)))
			best = rule;
	}
	if (best != NULL)
		*limit = best->limit;
}
