const orig = Deno.dlopen;
// deno-lint-ignore no-explicit-any
(Deno as any).dlopen = (p: string, s: any) => { console.log("wrapped", p); return orig(p, s); };
console.log(Deno.dlopen === orig);
