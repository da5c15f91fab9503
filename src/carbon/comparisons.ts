/**
 * Everyday equivalents of an emission or an energy, each with its factor's
 * source and year. They are orders of magnitude for readers, not accounting.
 */

export interface Comparison {
  /** Stable key: `car_km`, `smartphone_charges`, `led_hours`. */
  key: string;
  /** "km driven by an average passenger car" */
  label: string;
  value: number;
  unit: string;
  /** The factor used, in words with its unit. */
  factor: string;
  source: string;
  year: number | null;
}

/**
 * US EPA Greenhouse Gas Equivalencies Calculator, "Calculations and
 * References": 4.03 × 10⁻⁴ t CO2e per mile driven by an average gasoline
 * passenger vehicle, and 8.22 × 10⁻⁶ t CO2 per smartphone charged.
 */
export const EPA_EQUIVALENCIES = {
  source: "US EPA Greenhouse Gas Equivalencies Calculator - Calculations and References " +
    "(epa.gov/energy/greenhouse-gases-equivalencies-calculator-calculations-and-references)",
  year: 2024,
  gPerMile: 403,
  gPerSmartphoneCharge: 8.22,
} as const;

export const KM_PER_MILE = 1.609344;

/** A 10 W LED lamp (a common replacement for a 60 W incandescent bulb). */
export const LED_WATTS = 10;

/** The comparisons shown in the summary and the report. */
export function comparisons(emissionsG: number, energyJ: number): Comparison[] {
  const gPerKm = EPA_EQUIVALENCIES.gPerMile / KM_PER_MILE;
  return [
    {
      key: "car_km",
      label: "km driven by an average passenger car",
      value: emissionsG / gPerKm,
      unit: "km",
      factor: `${EPA_EQUIVALENCIES.gPerMile} g CO2e per mile (${gPerKm.toFixed(1)} g/km)`,
      source: EPA_EQUIVALENCIES.source,
      year: EPA_EQUIVALENCIES.year,
    },
    {
      key: "smartphone_charges",
      label: "smartphone charges",
      value: emissionsG / EPA_EQUIVALENCIES.gPerSmartphoneCharge,
      unit: "charges",
      factor: `${EPA_EQUIVALENCIES.gPerSmartphoneCharge} g CO2 per smartphone charged`,
      source: EPA_EQUIVALENCIES.source,
      year: EPA_EQUIVALENCIES.year,
    },
    {
      key: "led_hours",
      label: `hours of a ${LED_WATTS} W LED lamp (same energy)`,
      value: energyJ / (LED_WATTS * 3600),
      unit: "h",
      factor: `energy ÷ ${LED_WATTS} W`,
      source: "arithmetic on the measured energy",
      year: null,
    },
  ];
}
