package efaktura

import "time"

// A Holiday is one bank holiday of a BankCalendar: a fixed date (Month and
// Day) unless Easter is set, in which case it falls EasterOffset days after
// Easter Sunday (negative offsets are before it). FromYear and ToYear bound
// the years in which it applies, inclusive; 0 leaves that end open.
type Holiday struct {
	Name         string
	Month        time.Month
	Day          int
	Easter       bool
	EasterOffset int
	FromYear     int
	ToYear       int
}

// Date returns the month and day of h in year, and false when h does not
// apply in that year.
func (h Holiday) Date(year int) (time.Month, int, bool) {
	if (h.FromYear != 0 && year < h.FromYear) || (h.ToYear != 0 && year > h.ToYear) {
		return 0, 0, false
	}
	if !h.Easter {
		return h.Month, h.Day, true
	}
	m, d := Easter(year)
	// time.Date normalises day overflow into later months (April 46 is
	// May 16), so the offset needs no month arithmetic of its own.
	t := time.Date(year, m, d+h.EasterOffset, 12, 0, 0, 0, time.UTC)
	return t.Month(), t.Day(), true
}

// A BankCalendar decides which dates are bank days (rule V46). It is plain
// data so that the holidays, which section 4.9 reconstructs, can be replaced
// by configuration.
type BankCalendar struct {
	Holidays []Holiday
}

// DanishBankCalendar returns the Danish bank holidays of section 4.9. Each
// call returns a new calendar that the caller may modify.
func DanishBankCalendar() *BankCalendar {
	return &BankCalendar{Holidays: []Holiday{
		{Name: "New Year's Day", Month: time.January, Day: 1},
		{Name: "Maundy Thursday", Easter: true, EasterOffset: -3},
		{Name: "Good Friday", Easter: true, EasterOffset: -2},
		{Name: "Easter Monday", Easter: true, EasterOffset: 1},
		// Store Bededag was abolished as a public holiday from 2024.
		{Name: "General Prayer Day", Easter: true, EasterOffset: 26, ToYear: 2023},
		{Name: "Ascension Day", Easter: true, EasterOffset: 39},
		{Name: "Friday after Ascension Day", Easter: true, EasterOffset: 40},
		{Name: "Whit Monday", Easter: true, EasterOffset: 50},
		{Name: "Constitution Day", Month: time.June, Day: 5},
		{Name: "Christmas Eve", Month: time.December, Day: 24},
		{Name: "Christmas Day", Month: time.December, Day: 25},
		{Name: "Boxing Day", Month: time.December, Day: 26},
		{Name: "New Year's Eve", Month: time.December, Day: 31},
	}}
}

// HolidayOn returns the first holiday of c that falls on the date of t, in
// t's location, and false when there is none. Weekends are not holidays.
func (c *BankCalendar) HolidayOn(t time.Time) (Holiday, bool) {
	if c == nil {
		return Holiday{}, false
	}
	year, month, day := t.Date()
	for _, h := range c.Holidays {
		if m, d, ok := h.Date(year); ok && m == month && d == day {
			return h, true
		}
	}
	return Holiday{}, false
}

// IsBankDay reports whether the date of t, in t's location, is a bank day: a
// Monday to Friday that is not one of c's holidays. A nil calendar has no
// holidays.
func (c *BankCalendar) IsBankDay(t time.Time) bool {
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, holiday := c.HolidayOn(t)
	return !holiday
}

// Easter returns the month and day of Easter Sunday in the Gregorian
// calendar, computed with the Meeus/Butcher algorithm.
func Easter(year int) (time.Month, int) {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	n := h + l - 7*m + 114
	return time.Month(n / 31), n%31 + 1
}
