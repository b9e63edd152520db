package efaktura

import (
	"fmt"
	"testing"
	"time"
)

func calDate(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func TestEaster(t *testing.T) {
	tests := []struct {
		year  int
		month time.Month
		day   int
	}{
		{2024, time.March, 31},
		{2025, time.April, 20},
		{2026, time.April, 5},
		{2000, time.April, 23},
		{2038, time.April, 25},
		{2023, time.April, 9},
		{2019, time.April, 21},
		{2008, time.March, 23},
		{1961, time.April, 2},
		// The earliest and latest possible dates.
		{1818, time.March, 22},
		{2285, time.March, 22},
		{1943, time.April, 25},
		// The first Gregorian Easter.
		{1583, time.April, 10},
	}
	for _, tt := range tests {
		m, d := Easter(tt.year)
		if m != tt.month || d != tt.day {
			t.Errorf("Easter(%d) = %v %d, want %v %d", tt.year, m, d, tt.month, tt.day)
		}
	}
}

func TestEasterIsSundayInRange(t *testing.T) {
	for y := 1583; y <= 4099; y++ {
		m, d := Easter(y)
		e := calDate(y, m, d)
		if e.Weekday() != time.Sunday || e.Before(calDate(y, time.March, 22)) || e.After(calDate(y, time.April, 25)) {
			t.Fatalf("Easter(%d) = %v %d, want a Sunday from 22 March to 25 April", y, m, d)
		}
	}
}

// danishHolidays are the bank holidays of 2023 and 2025, written out by hand
// rather than computed, so that the tests do not reuse the calendar's logic.
var danishHolidays = map[int][]string{
	// Section 4.9's test vectors.
	2025: {"01-01", "04-17", "04-18", "04-21", "05-29", "05-30", "06-05", "06-09", "12-24", "12-25", "12-26", "12-31"},
	// Easter is 9 April; General Prayer Day, 5 May, still applies.
	2023: {"01-01", "04-06", "04-07", "04-10", "05-05", "05-18", "05-19", "05-29", "06-05", "12-24", "12-25", "12-26", "12-31"},
	// Easter is 31 March; General Prayer Day no longer applies.
	2024: {"01-01", "03-28", "03-29", "04-01", "05-09", "05-10", "05-20", "06-05", "12-24", "12-25", "12-26", "12-31"},
}

func holidaySet(t *testing.T, year int) map[time.Time]bool {
	t.Helper()
	set := make(map[time.Time]bool)
	for _, md := range danishHolidays[year] {
		d, err := time.Parse(time.DateOnly, fmt.Sprintf("%d-%s", year, md))
		if err != nil {
			t.Fatal(err)
		}
		set[d] = true
	}
	return set
}

func isWeekend(d time.Time) bool {
	return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
}

func TestIsBankDayWholeYears(t *testing.T) {
	c := DanishBankCalendar()
	for year := range danishHolidays {
		holidays := holidaySet(t, year)
		for d := calDate(year, time.January, 1); d.Year() == year; d = d.AddDate(0, 0, 1) {
			want := !isWeekend(d) && !holidays[d]
			if got := c.IsBankDay(d); got != want {
				t.Errorf("IsBankDay(%q) = %v, want %v", d.Format(time.DateOnly), got, want)
			}
		}
	}
}

func TestIsBankDay(t *testing.T) {
	c := DanishBankCalendar()
	tests := []struct {
		day  time.Time
		want bool
	}{
		// Section 4.9.
		{calDate(2025, time.July, 31), true},  // Thursday
		{calDate(2025, time.June, 5), false},  // Constitution Day
		{calDate(2025, time.June, 7), false},  // Saturday
		{calDate(2025, time.June, 8), false},  // Whit Sunday, a Sunday anyway
		{calDate(2025, time.June, 6), true},   // Friday between the two holidays
		{calDate(2023, time.May, 5), false},   // General Prayer Day 2023
		{calDate(2024, time.April, 26), true}, // would be General Prayer Day 2024
		{calDate(2022, time.May, 13), false},  // General Prayer Day 2022
		{calDate(2026, time.May, 1), true},    // would be General Prayer Day 2026
		{calDate(2025, time.December, 23), true},
		{calDate(2026, time.January, 2), true}, // Friday
		// Only the calendar date counts, not the instant.
		{time.Date(2025, time.June, 5, 23, 59, 59, 0, time.FixedZone("CEST", 2*3600)), false},
		{time.Date(2025, time.June, 4, 23, 30, 0, 0, time.FixedZone("CEST", 2*3600)), true},
	}
	for _, tt := range tests {
		if got := c.IsBankDay(tt.day); got != tt.want {
			t.Errorf("IsBankDay(%q) = %v, want %v", tt.day.Format(time.RFC3339), got, tt.want)
		}
	}
}

func TestHolidayBoundaries(t *testing.T) {
	// The day before and after every holiday is a bank day when it is a
	// weekday and not itself a holiday.
	c := DanishBankCalendar()
	holidays := make(map[time.Time]bool)
	for year := range danishHolidays {
		for d := range holidaySet(t, year) {
			holidays[d] = true
		}
	}
	// Neighbours across the edges of the listed years.
	holidays[calDate(2022, time.December, 31)] = true
	holidays[calDate(2026, time.January, 1)] = true
	for year := range danishHolidays {
		for _, h := range c.Holidays {
			m, d, ok := h.Date(year)
			if !ok {
				continue
			}
			day := calDate(year, m, d)
			if !holidays[day] {
				t.Errorf("%s %d falls on %s, which is not in the hand-written list", h.Name, year, day.Format(time.DateOnly))
			}
			if c.IsBankDay(day) {
				t.Errorf("IsBankDay(%q) (%s) = true, want false", day.Format(time.DateOnly), h.Name)
			}
			for _, n := range []time.Time{day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)} {
				want := !isWeekend(n) && !holidays[n]
				if got := c.IsBankDay(n); got != want {
					t.Errorf("IsBankDay(%q) (next to %s) = %v, want %v", n.Format(time.DateOnly), h.Name, got, want)
				}
			}
		}
	}
}

func TestHolidayDate(t *testing.T) {
	prayer := Holiday{Name: "General Prayer Day", Easter: true, EasterOffset: 26, ToYear: 2023}
	tests := []struct {
		h     Holiday
		year  int
		month time.Month
		day   int
		ok    bool
	}{
		{prayer, 2023, time.May, 5, true},
		{prayer, 2024, 0, 0, false},
		{Holiday{Month: time.June, Day: 5}, 2025, time.June, 5, true},
		{Holiday{Month: time.June, Day: 5, FromYear: 2026}, 2025, 0, 0, false},
		{Holiday{Month: time.June, Day: 5, FromYear: 2025, ToYear: 2025}, 2025, time.June, 5, true},
		{Holiday{Easter: true, EasterOffset: -3}, 2024, time.March, 28, true}, // across no month
		{Holiday{Easter: true, EasterOffset: 1}, 2024, time.April, 1, true},   // into April
		{Holiday{Easter: true, EasterOffset: -2}, 2025, time.April, 18, true}, // Good Friday
		{Holiday{Easter: true, EasterOffset: 50}, 2025, time.June, 9, true},   // into June
		{Holiday{Easter: true, EasterOffset: 0}, 2000, time.April, 23, true},  // Easter itself
		{Holiday{Easter: true, EasterOffset: 40}, 2038, time.June, 4, true},   // latest Easter
		{Holiday{Easter: true, EasterOffset: -3}, 2285, time.March, 19, true}, // earliest Easter
	}
	for _, tt := range tests {
		m, d, ok := tt.h.Date(tt.year)
		if m != tt.month || d != tt.day || ok != tt.ok {
			t.Errorf("%+v.Date(%d) = %v, %d, %v, want %v, %d, %v", tt.h, tt.year, m, d, ok, tt.month, tt.day, tt.ok)
		}
	}
}

func TestHolidayOn(t *testing.T) {
	c := DanishBankCalendar()
	if h, ok := c.HolidayOn(calDate(2025, time.May, 30)); !ok || h.Name != "Friday after Ascension Day" {
		t.Errorf("HolidayOn(%q) = %q, %v, want %q, true", "2025-05-30", h.Name, ok, "Friday after Ascension Day")
	}
	if h, ok := c.HolidayOn(calDate(2025, time.June, 7)); ok {
		t.Errorf("HolidayOn(%q) = %q, %v, want false", "2025-06-07", h.Name, ok)
	}
}

func TestBankCalendarConfigurable(t *testing.T) {
	var none *BankCalendar
	if !none.IsBankDay(calDate(2025, time.June, 5)) {
		t.Errorf("nil calendar: IsBankDay(%q) = false, want true", "2025-06-05")
	}
	if none.IsBankDay(calDate(2025, time.June, 7)) {
		t.Errorf("nil calendar: IsBankDay(%q) = true, want false", "2025-06-07")
	}
	// Calendars are independent, so one can be changed without touching
	// another.
	c := DanishBankCalendar()
	c.Holidays = append(c.Holidays, Holiday{Name: "Example", Month: time.July, Day: 31, FromYear: 2025, ToYear: 2025})
	if c.IsBankDay(calDate(2025, time.July, 31)) {
		t.Errorf("extended calendar: IsBankDay(%q) = true, want false", "2025-07-31")
	}
	if !c.IsBankDay(calDate(2026, time.July, 31)) {
		t.Errorf("extended calendar: IsBankDay(%q) = false, want true", "2026-07-31")
	}
	if !DanishBankCalendar().IsBankDay(calDate(2025, time.July, 31)) {
		t.Errorf("fresh calendar: IsBankDay(%q) = false, want true", "2025-07-31")
	}
}
