// RFC 8785 canonical JSON for the values the notary signs: objects, arrays, strings, integers,
// booleans and null. ECMAScript's JSON.stringify is RFC 8785's serialisation for strings and
// integers; keys are sorted by UTF-16 code units, which is what Array.prototype.sort does.

export function canonicalJson(value) {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new Error("only integers are signed");
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(",")}}`;
}
