/*-------------------------------------------------------------------------
 *
 * xml_util.h
 *	  A tiny extractor for the XML that AWS Query services (STS) answer:
 *	  the text of an element found by name.
 *
 * Copyright (c) 2026, bedrock_fdw developers
 *
 * IDENTIFICATION
 *	  src/aws/xml_util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef BEDROCK_XML_UTIL_H
#define BEDROCK_XML_UTIL_H

/* in xml_util.c */
extern char *xml_element_text(const char *xml, size_t len, const char *path);

#endif							/* BEDROCK_XML_UTIL_H */
