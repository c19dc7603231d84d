/*-------------------------------------------------------------------------
 *
 * scanner.c
 *		Scanner fingerprints in SQL: packet_scanner, packet_scanners and
 *		mirai_scanner_rules, over the decoder's catalogue
 *		(src/decode/mx_scanner.c).
 *
 * The catalogue is compiled into the library, so the answers of
 * packet_scanner and packet_scanners are fixed for a given build (they are
 * IMMUTABLE); a release that changes the catalogue says so, as an
 * expression index on them must then be rebuilt.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "mirai_ext.h"
#include "mx_scanner.h"

/*
 * Every rule: a mask with all bits set.  The rules that cannot be checked
 * never match, so they need not be left out.
 */
#define EVERY_RULE	UINT32_MAX

/*
 * The rules' names as text values, made once per call site in its
 * fn_mcxt: most packets of a capture match a rule, and packet_scanner
 * answers with one of a handful of names.  A function's result is never
 * changed or freed by its caller, so every row may share them.
 */
static text **
rule_names(FunctionCallInfo fcinfo)
{
	text	  **names = (text **) fcinfo->flinfo->fn_extra;
	size_t		i;

	if (names == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		names = palloc(sizeof(text *) * mx_scanner_nrules());
		for (i = 0; i < mx_scanner_nrules(); i++)
			names[i] = cstring_to_text(mx_scanner_rule_at(i)->name);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = names;
	}
	return names;
}

PG_FUNCTION_INFO_V1(packet_scanner);
/* packet_scanner(packet) -> the first matching rule's name, or NULL. */
Datum
packet_scanner(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	int			i;

	/* the hot path: the stored form read in place */
	i = mx_scanner_first_packed((const uint8 *) VARDATA_ANY(v),
								VARSIZE_ANY_EXHDR(v), EVERY_RULE);
	if (i == -2)
	{
		mx_packet	p;

		mirai_packet_unpack(PG_GETARG_DATUM(0), &p);	/* reports what is wrong */
		i = mx_scanner_first(&p, EVERY_RULE);
	}
	if (i < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(rule_names(fcinfo)[i]);
}

PG_FUNCTION_INFO_V1(packet_scanners);
/* packet_scanners(packet) -> every matching rule's name, in catalogue order. */
Datum
packet_scanners(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	int64		m;
	text	  **rules;
	Datum		names[MX_SCANNER_MAX_RULES];
	int			n = 0;
	size_t		i;

	m = mx_scanner_matches_packed((const uint8 *) VARDATA_ANY(v),
								  VARSIZE_ANY_EXHDR(v), EVERY_RULE);
	if (m < 0)
	{
		mx_packet	p;

		mirai_packet_unpack(PG_GETARG_DATUM(0), &p);	/* reports what is wrong */
		m = mx_scanner_matches(&p, EVERY_RULE);
	}
	if (m == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	rules = rule_names(fcinfo);
	for (i = 0; i < mx_scanner_nrules(); i++)
		if (m & (INT64CONST(1) << i))
			names[n++] = PointerGetDatum(rules[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

#define RULE_COLUMNS 11

PG_FUNCTION_INFO_V1(mirai_scanner_rules);
/*
 * mirai_scanner_rules() -> the catalogue, a row per rule in catalogue
 * order: position, name, tool, versions, fields read, rule text, source,
 * false-positive rate on random SYNs (NULL when not checkable), how that
 * rate follows, whether the rule can be checked, and what it leaves out.
 */
Datum
mirai_scanner_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t		i;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != RULE_COLUMNS)
		elog(ERROR, "mirai_scanner_rules: expected %d columns, found %d",
			 RULE_COLUMNS, rsinfo->setDesc->natts);
	for (i = 0; i < mx_scanner_nrules(); i++)
	{
		const mx_scanner_rule *r = mx_scanner_rule_at(i);
		Datum		values[RULE_COLUMNS];
		bool		nulls[RULE_COLUMNS];
		const char *fields[16];
		Datum		fd[16];
		size_t		nf,
					k;
		char	   *text;
		size_t		len;
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		nf = mx_scanner_rule_fields(r, fields, lengthof(fields));
		if (nf > lengthof(fields))
			elog(ERROR, "scanner rule \"%s\" reads %zu fields", r->name, nf);
		for (k = 0; k < nf; k++)
			fd[k] = CStringGetTextDatum(fields[k]);
		len = mx_scanner_rule_text(r, NULL, 0);
		text = palloc(len + 1);
		mx_scanner_rule_text(r, text, len + 1);

		values[c++] = Int32GetDatum((int32) i + 1);
		values[c++] = CStringGetTextDatum(r->name);
		values[c++] = CStringGetTextDatum(r->tool);
		values[c++] = CStringGetTextDatum(r->versions);
		values[c++] = PointerGetDatum(construct_array(fd, (int) nf, TEXTOID, -1, false, TYPALIGN_INT));
		values[c++] = CStringGetTextDatum(text);
		values[c++] = CStringGetTextDatum(r->source);
		nulls[c] = !mx_scanner_checkable(r);
		values[c++] = Float8GetDatum(r->fp_rate);
		values[c++] = CStringGetTextDatum(r->fp_math);
		values[c++] = BoolGetDatum(mx_scanner_checkable(r));
		values[c++] = CStringGetTextDatum(r->note);
		Assert(c == RULE_COLUMNS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
