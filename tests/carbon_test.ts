import assert from "node:assert/strict";
import {
  buildTable,
  serializeTable,
  SOURCE_FILES,
  sourcesMarkdown,
} from "../scripts/build_carbon_table.ts";
import {
  CarbonUsageError,
  computeCarbon,
  computeEmbodied,
  ENTRIES,
  guessRegionFromSources,
  type IntensityResolution,
  listRegions,
  loadCarbonSettings,
  lookupRegion,
  parseIntensityCsv,
  parseTimeUs,
  requireRegion,
  resolveIntensity,
  resolvePue,
  suggest,
} from "../src/carbon/mod.ts";
import {
  carbonCommand,
  parseEnergy,
  parsePrice,
  parsePue,
  parseRegion,
} from "../src/cli/carbon_cmd.ts";

const close = (a: number, b: number, eps = 1e-9) =>
  assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);

const T0 = Date.UTC(2026, 0, 1) * 1000; // µs
const s = (sec: number) => T0 + sec * 1e6;
const KWH = 3.6e6;

function fixed(region: string): IntensityResolution {
  return resolveIntensity({ region });
}

// ---------------------------------------------------------------- the table

Deno.test("countries by alpha-2, alpha-3 and name in any case", () => {
  for (const q of ["FR", "fr", "FRA", "fra", "France", "FRANCE", "  france "]) {
    const e = lookupRegion(q);
    assert.equal(e?.id, "FR", q);
    assert.equal(e?.g_per_kwh, 41.44);
    assert.equal(e?.year, 2025);
    assert.equal(e?.basis, "lifecycle");
    assert.match(e!.source.citation, /Ember \(2026\)/);
    assert.equal(e!.source.licence, "CC BY 4.0");
  }
  assert.equal(lookupRegion("Germany")?.g_per_kwh, 329.65);
  assert.equal(lookupRegion("DEU")?.id, "DE");
  assert.equal(lookupRegion("usa")?.g_per_kwh, 384.4);
  assert.equal(lookupRegion("United States of America")?.id, "US");
  assert.equal(lookupRegion("ind")?.g_per_kwh, 670.13);
  assert.equal(lookupRegion("Côte d'Ivoire")?.id, "CI");
  assert.equal(lookupRegion("cote d’ivoire")?.g_per_kwh, 405.01);
  assert.equal(lookupRegion("south korea")?.id, "KR");
  assert.equal(lookupRegion("Republic of Korea")?.id, "KR");
  assert.equal(lookupRegion("XKX")?.name, "Kosovo");
  assert.equal(lookupRegion("congo")?.id, "CG");
  assert.equal(lookupRegion("EU")?.g_per_kwh, 209.9);
  assert.equal(lookupRegion("world")?.g_per_kwh, 458.29);
});

Deno.test("cloud regions: GCP own figures, AWS/Azure mapped to their grid", () => {
  const gcp = lookupRegion("europe-west1")!;
  assert.equal(gcp.id, "gcp:europe-west1");
  assert.equal(gcp.g_per_kwh, 103.37);
  assert.equal(gcp.year, 2024);
  assert.equal(gcp.basis, "grid-average");
  assert.equal(gcp.source.licence, "Apache-2.0");
  assert.equal(lookupRegion("GCP:Europe-West1")?.id, "gcp:europe-west1");
  assert.equal(lookupRegion("us-central1")?.g_per_kwh, 412.72);

  const aws = lookupRegion("eu-west-3")!;
  assert.equal(aws.id, "aws:eu-west-3");
  assert.equal(aws.via, "FR");
  assert.equal(aws.g_per_kwh, 41.44);
  const awsUs = lookupRegion("us-east-1")!;
  assert.equal(awsUs.via, "SRVC");
  assert.equal(awsUs.g_per_kwh, 269.02);
  assert.equal(awsUs.basis, "direct-combustion");
  assert.equal(awsUs.year, 2023);

  const az = lookupRegion("WestEurope")!;
  assert.equal(az.id, "azure:westeurope");
  assert.equal(az.via, "NL");
  assert.equal(az.g_per_kwh, 253.56);
  assert.equal(lookupRegion("southcentralus")?.g_per_kwh, 336.04);
});

Deno.test("US eGRID subregions and states", () => {
  assert.equal(lookupRegion("CAMX")?.g_per_kwh, 198.74);
  assert.equal(lookupRegion("egrid:erct")?.g_per_kwh, 336.04);
  assert.equal(lookupRegion("US-VA")?.via, "SRVC");
  assert.equal(lookupRegion("US-EGRID")?.g_per_kwh, 351.64);
});

Deno.test("anomalies from countries_flags.csv are handled and noted", () => {
  const caf = lookupRegion("CAF")!;
  assert.notEqual(caf.g_per_kwh, 0);
  assert.equal(caf.via, "OWID_AFR");
  assert.equal(caf.g_per_kwh, 544.13);
  assert.match(caf.notes.join(" "), /0\.00/);
  const uz = lookupRegion("UZ")!;
  assert.equal(uz.g_per_kwh, 1040.12);
  assert.equal(uz.year, 2024);
  assert.match(lookupRegion("UKR")!.notes.join(" "), /stale/);
  // a territory without a figure says so
  const ad = lookupRegion("Andorra")!;
  assert.equal(ad.via, "WORLD");
  assert.match(ad.notes[0], /no published figure/);
});

Deno.test("every ISO country is present, every entry has a source and a year", () => {
  assert.equal(ENTRIES.filter((e) => e.kind === "country").length, 250);
  for (const e of ENTRIES) {
    assert.ok(e.source?.citation && e.source.licence, e.id);
    assert.ok(Number.isInteger(e.year) && e.year > 2000, e.id);
    assert.ok(Number.isFinite(e.g_per_kwh) && e.g_per_kwh > 0, e.id);
  }
});

Deno.test("table.json and SOURCES.md are what the script builds from data/carbon/sources", () => {
  const dir = new URL("../data/carbon/", import.meta.url);
  const read = (n: string) => Deno.readTextFileSync(new URL(`sources/${n}`, dir));
  for (const f of SOURCE_FILES) assert.ok(read(f).length > 0, f);
  const t = buildTable(read);
  assert.equal(serializeTable(t), Deno.readTextFileSync(new URL("table.json", dir)));
  assert.equal(sourcesMarkdown(t), Deno.readTextFileSync(new URL("SOURCES.md", dir)));
});

Deno.test("list and suggest", () => {
  assert.equal(listRegions("aws").length, 30);
  assert.ok(listRegions("country").length === 250);
  assert.ok(listRegions("paris").some((e) => e.id === "aws:eu-west-3"));
  assert.equal(suggest("Frnace")[0].id, "FR");
  assert.ok(suggest("europe-wset1").some((e) => e.id === "gcp:europe-west1"));
});

// ---------------------------------------------------------------- bad input

Deno.test("bad region: usage error (exit 2) with close matches", () => {
  for (const bad of ["Frnace", "eu-west-9", "zz-nowhere"]) {
    assert.throws(() => requireRegion(bad), (e: unknown) => {
      assert.ok(e instanceof CarbonUsageError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, new RegExp(`unknown region '${bad}'`));
      return true;
    });
  }
  assert.throws(() => parseRegion("Frnace"), /did you mean: FR \(France\)/);
  assert.throws(() => parseRegion("eu-west-9"), /did you mean: .*eu-west-/);
  assert.throws(
    () => resolveIntensity({ envRegion: "Atlantis" }),
    /unknown region in AIMETER_REGION 'Atlantis'/,
  );
});

Deno.test("bad PUE: below 1, NaN, not a number", () => {
  for (const bad of ["0.9", "0", "-1", "NaN", "abc", "", "Infinity"]) {
    assert.throws(() => parsePue(bad), (e: unknown) => e instanceof CarbonUsageError, bad);
  }
  assert.equal(parsePue("1"), 1);
  assert.equal(parsePue("1.25"), 1.25);
  assert.throws(() => resolvePue(undefined, { pue: 0.5, path: "/c.json" }), /pue in \/c\.json/);
  assert.throws(() =>
    computeCarbon({
      resolution: fixed("FR"),
      pue: NaN,
      run: { startUs: 0, endUs: 1 },
      devices: [],
    })
  );
});

Deno.test("parseEnergy and parsePrice", () => {
  assert.equal(parseEnergy("3.2kWh"), 3.2 * KWH);
  assert.equal(parseEnergy("500Wh"), 500 * 3600);
  assert.equal(parseEnergy("12MJ"), 12e6);
  assert.equal(parseEnergy("100J"), 100);
  assert.equal(parseEnergy("1.5 MWh"), 1.5 * 3.6e9);
  assert.throws(() => parseEnergy("12"), CarbonUsageError);
  assert.throws(() => parseEnergy("3 parsecs"), /unit/);
  assert.deepEqual(parsePrice("0.25EUR"), { per_kwh: 0.25, currency: "EUR" });
  assert.deepEqual(parsePrice("€0.30"), { per_kwh: 0.3, currency: "EUR" });
  assert.deepEqual(parsePrice("USD 0.12"), { per_kwh: 0.12, currency: "USD" });
  assert.throws(() => parsePrice("0.25"), /currency/);
});

// ---------------------------------------------------------------- emissions

Deno.test("fixed intensity from the table, PUE, per device, water and cost", () => {
  const r = fixed("DE");
  const c = computeCarbon({
    resolution: r,
    pue: 1.5,
    run: { startUs: s(0), endUs: s(3600) },
    devices: [
      { source: "nvml", device: "gpu0", series: [[s(0), 0], [s(3600), 2 * KWH]] },
      { source: "rapl", device: "package-0", energyJ: 1 * KWH },
      { source: "rapl", device: "package-0/core", energyJ: 0.5 * KWH, counted: false },
    ],
    wue: 2,
    price: { per_kwh: 0.3, currency: "EUR" },
  });
  assert.equal(c.region, "DE");
  assert.equal(c.intensity_g_per_kwh, 329.65);
  assert.equal(c.pue, 1.5);
  close(c.energy_j, 3 * KWH);
  close(c.emissions_g, 3 * 1.5 * 329.65);
  close(c.per_device[0].emissions_g, 2 * 1.5 * 329.65);
  close(c.per_device[2].emissions_g, 0.5 * 1.5 * 329.65);
  assert.equal(c.per_device[2].counted, false);
  close(c.water_l!, 3 * 2); // WUE applies to IT energy
  close(c.cost!.amount, 3 * 1.5 * 0.3); // cost of grid energy
  assert.equal(c.guess, false);
  assert.match(c.intensity_source, /CC BY 4\.0\), 2025$/);
  // PUE scales linearly
  const c1 = computeCarbon({
    resolution: r,
    pue: 1,
    run: { startUs: s(0), endUs: s(3600) },
    devices: [{ source: "nvml", device: "gpu0", energyJ: 2 * KWH }],
  });
  close(c1.emissions_g * 1.5, c.per_device[0].emissions_g);
});

Deno.test("fixed override beats the region, which stays as context", () => {
  const r = resolveIntensity({ carbonIntensity: 100, region: "FR", envRegion: "DE" });
  assert.equal(r.resolved_by, "carbon-intensity");
  assert.equal(r.g_per_kwh, 100);
  assert.equal(r.region, "FR");
  assert.equal(r.basis, "user");
  const c = computeCarbon({
    resolution: r,
    pue: 1.2,
    run: { startUs: 0, endUs: 1 },
    devices: [{ source: "nvml", device: "gpu0", energyJ: 0.5 * KWH }],
  });
  close(c.emissions_g, 0.5 * 1.2 * 100);
  assert.equal(c.intensity_source, "user value (--carbon-intensity)");
});

Deno.test("an energy series in column form integrates like the pair form", async () => {
  const { integrateSeries } = await import("../src/carbon/emissions.ts");
  const intensity = {
    kind: "series" as const,
    points: [{ timeUs: s(0), g_per_kwh: 100 }, { timeUs: s(1800), g_per_kwh: 300 }],
  };
  const pairs: [number, number][] = [[s(0), 50], [s(1200), 50 + KWH], [s(3600), 50 + 3 * KWH]];
  const cols = { times: pairs.map((p) => p[0]), joules: pairs.map((p) => p[1]) };
  assert.deepEqual(integrateSeries(cols, intensity), integrateSeries(pairs, intensity));
  assert.equal(integrateSeries(cols, intensity).energyJ, 3 * KWH);
});

Deno.test("time series: integrated sample by sample (hand-computed)", () => {
  const csv = "time,g_per_kwh\n" +
    "2026-01-01T00:00:00Z,100\n" +
    "2026-01-01T00:00:15Z,300\n" +
    `${(T0 / 1e6) + 25},50\n`; // Unix seconds work too
  const points = parseIntensityCsv(csv, "ci.csv");
  assert.deepEqual(points.map((p) => p.timeUs), [s(0), s(15), s(25)]);
  const r = resolveIntensity({ intensitySeries: { file: "ci.csv", points }, region: "FR" });
  assert.equal(r.resolved_by, "carbon-intensity-file");
  // 0.1 kWh per 10 s interval.
  // [0,10): 0.1×100 = 10 g; [10,20): 0.05×100 + 0.05×300 = 20 g;
  // [20,30): 0.05×300 + 0.05×50 = 17.5 g; total 47.5 g (× PUE 1.2 = 57 g)
  // phases: train [0,15): 10 + 0.05×100 = 15 g; eval [15,30): 32.5 g
  const series: [number, number][] = [
    [s(0), 0],
    [s(10), 0.1 * KWH],
    [s(20), 0.2 * KWH],
    [s(30), 0.3 * KWH],
  ];
  const c = computeCarbon({
    resolution: r,
    pue: 1,
    run: { startUs: s(0), endUs: s(30) },
    devices: [{ source: "nvml", device: "gpu0", series }],
    phases: [
      { name: "train", startUs: s(0), endUs: s(15) },
      { name: "eval", startUs: s(15), endUs: s(30) },
    ],
  });
  close(c.emissions_g, 47.5);
  close(c.intensity_g_per_kwh, 47.5 / 0.3);
  close(c.per_phase[0].emissions_g, 15);
  close(c.per_phase[0].energy_j, 0.15 * KWH);
  close(c.per_phase[1].emissions_g, 32.5);
  assert.equal(c.intensity_series?.rows, 3);
  assert.equal(c.intensity_series?.max_g_per_kwh, 300);
  const c12 = computeCarbon({
    resolution: r,
    pue: 1.2,
    run: { startUs: s(0), endUs: s(30) },
    devices: [{ source: "nvml", device: "gpu0", series }],
  });
  close(c12.emissions_g, 57);
});

Deno.test("time series: bad files are usage errors; ISO times without offset are UTC", () => {
  assert.throws(() => parseIntensityCsv("when,g\n1,2\n"), /time,g_per_kwh/);
  assert.throws(() => parseIntensityCsv("time,g_per_kwh\nyesterday,2\n"), /line 2: bad time/);
  assert.throws(() => parseIntensityCsv("time,g_per_kwh\n0,-5\n"), /bad g_per_kwh/);
  assert.equal(parseTimeUs("2026-01-01T00:00:15"), s(15));
  assert.equal(parseTimeUs("2026-01-01 00:00:15.000250Z"), s(15) + 250);
});

// ---------------------------------------------------------------- resolution

Deno.test("time-zone guess is marked as a guess and says how to set the region", () => {
  const g = guessRegionFromSources({ intl: "Europe/Paris" })!;
  assert.equal(g.entry.id, "FR");
  assert.equal(g.guess, true);
  assert.equal(guessRegionFromSources({ intl: "UTC", tzEnv: "Asia/Calcutta" })?.entry.id, "IN");
  assert.equal(
    guessRegionFromSources({ intl: "Etc/UTC", localtimeLink: "/usr/share/zoneinfo/Europe/Berlin" })
      ?.entry.id,
    "DE",
  );
  assert.equal(guessRegionFromSources({ intl: "UTC", etcTimezone: "Etc/UTC\n" }), undefined);

  const r = resolveIntensity({ timeZone: g });
  assert.equal(r.guess, true);
  assert.equal(r.resolved_by, "timezone");
  assert.equal(r.region, "FR");
  assert.match(r.hint!, /Europe\/Paris.*--region.*AIMETER_REGION/);
  const c = computeCarbon({
    resolution: r,
    pue: 1,
    run: { startUs: 0, endUs: 1 },
    devices: [{ source: "nvml", device: "gpu0", energyJ: KWH }],
  });
  assert.equal(c.guess, true);
  assert.ok(c.hint);

  const w = resolveIntensity({ timeZone: null });
  assert.equal(w.region, "WORLD");
  assert.equal(w.resolved_by, "default");
  assert.match(w.hint!, /World average/);
});

Deno.test("precedence: flag > AIMETER_REGION > config > time zone", () => {
  const files: Record<string, string> = {
    "/home/u/.config/aimeter/config.json": JSON.stringify({ region: "SE", pue: 1.1 }),
  };
  const readText = (p: string) => {
    if (p in files) return files[p];
    throw new Deno.errors.NotFound(p);
  };
  const guessTimeZone = () => guessRegionFromSources({ intl: "Europe/Paris" });
  const env = { HOME: "/home/u" };
  let st = loadCarbonSettings({}, { env, readText, guessTimeZone });
  assert.equal(resolveIntensity(st).region, "SE");
  assert.equal(resolveIntensity(st).resolved_by, "config");
  assert.equal(resolvePue(undefined, st.config), 1.1);
  assert.equal(resolvePue(1.3, st.config), 1.3);
  st = loadCarbonSettings({}, {
    env: { ...env, AIMETER_REGION: "norway" },
    readText,
    guessTimeZone,
  });
  assert.equal(resolveIntensity(st).region, "NO");
  st = loadCarbonSettings({ region: "eu-west-3" }, {
    env: { ...env, AIMETER_REGION: "NO" },
    readText,
    guessTimeZone,
  });
  assert.equal(resolveIntensity(st).region, "aws:eu-west-3");
  st = loadCarbonSettings({}, { env: { HOME: "/nowhere" }, readText, guessTimeZone });
  assert.equal(resolveIntensity(st).guess, true);
  // an explicit AIMETER_CONFIG that cannot be read is an error
  assert.throws(
    () => loadCarbonSettings({}, { env: { AIMETER_CONFIG: "/missing.json" }, readText }),
    CarbonUsageError,
  );
});

// ---------------------------------------------------------------- extras

Deno.test("embodied: cited figure amortized, shown apart; no figure, no number", () => {
  const e = computeEmbodied([
    { device: "gpu0", name: "NVIDIA A100-SXM4-80GB" },
    { device: "gpu1", name: "NVIDIA H100 80GB HBM3" },
  ], 3600);
  close(e.per_gpu[0].emissions_g!, 150_000 * 3600 / (5 * 365.25 * 86400));
  assert.equal(e.per_gpu[1].kg_co2e, null);
  assert.equal(e.per_gpu[1].emissions_g, null);
  assert.deepEqual(e.missing, ["NVIDIA H100 80GB HBM3"]);
  assert.match(e.method, /apart/);
  const c = computeCarbon({
    resolution: fixed("FR"),
    pue: 1,
    run: { startUs: s(0), endUs: s(3600) },
    devices: [{ source: "nvml", device: "gpu0", name: "NVIDIA A100-SXM4-80GB", energyJ: KWH }],
    embodied: true,
  });
  close(c.emissions_g, 41.44); // operational only
  assert.ok(c.embodied && c.embodied.emissions_g > 0);
});

Deno.test("comparisons carry their factors and sources", () => {
  const c = computeCarbon({
    resolution: resolveIntensity({ carbonIntensity: 403 }),
    pue: 1,
    run: { startUs: 0, endUs: 1 },
    devices: [{ source: "x", device: "y", energyJ: KWH }],
  });
  const car = c.comparisons.find((x) => x.key === "car_km")!;
  close(car.value, 1.609344); // 403 g = one mile
  assert.match(car.source, /EPA/);
  const led = c.comparisons.find((x) => x.key === "led_hours")!;
  close(led.value, 100);
});

Deno.test("aimeter carbon command: explain, convert, list, errors", async () => {
  const run = async (args: string[]) => {
    const lines: string[] = [];
    await carbonCommand({
      out: (l) => lines.push(l),
      env: {},
      guessTimeZone: () => undefined,
    }).exitOverride().parseAsync(args, { from: "user" });
    return lines.join("\n");
  };
  const fr = await run(["--region", "france", "--energy", "3.2kWh", "--pue", "1.2"]);
  assert.match(fr, /France \[FR\]/);
  assert.match(fr, /41\.44 g CO2e\/kWh \(2025\)/);
  assert.match(fr, /CC BY 4\.0/);
  assert.match(fr, /= 159 g CO2e/); // 3.2 × 1.2 × 41.44 = 159.1
  const json = JSON.parse(await run(["--region", "westeurope", "--energy", "1kWh", "--json"]));
  assert.equal(json.resolution.region, "azure:westeurope");
  close(json.carbon.emissions_g, 253.56);
  const list = await run(["--list", "gcp"]);
  assert.match(list, /gcp:europe-west1 +103\.37/);
  const def = await run([]);
  assert.match(def, /World \[WORLD\]/);
  assert.match(def, /--region/);
  await assert.rejects(run(["--region", "Frnace"]), CarbonUsageError);
  await assert.rejects(run(["--region", "FR", "--pue", "0.5"]), CarbonUsageError);
});

Deno.test("carbonDevicesFrom: summary devices + trace series → computeCarbon input", async () => {
  const { carbonDevicesFrom } = await import("../src/carbon/from_trace.ts");
  const devs = carbonDevicesFrom(
    [
      {
        host: "n1",
        source: "nvml",
        device: "gpu0",
        name: "NVIDIA A100",
        energy_j: 200,
        total: "gpu",
      },
      { host: "n1", source: "rapl", device: "package-0/core", energy_j: 50, total: "none" },
      { host: "n1", source: "rapl", device: "package-1", energy_j: null, total: "cpu" },
    ],
    [{
      host: "n1",
      source: "nvml",
      device: "gpu0",
      metric: "energy_j",
      times: [s(0), s(1), s(2)],
      values: [0, 100, 200],
    }],
  );
  assert.equal(devs.length, 2);
  // the trace's own columns, not copied into per-sample pairs
  assert.deepEqual(devs[0].series, { times: [s(0), s(1), s(2)], joules: [0, 100, 200] });
  assert.equal(devs[1].counted, false);
  assert.equal(devs[1].series, undefined);
});
