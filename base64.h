/* The base64 alphabet of RFC 4648 section 4 (leaf: no project header). */
#ifndef BASE64_H
#define BASE64_H

extern const char base64_digits[64];
/* the value of one base64 digit, -1 for any other byte (padding too) */
int base64_val(unsigned char c);

#endif
