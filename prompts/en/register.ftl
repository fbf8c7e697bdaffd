# Words of the deployment card and the register.
not-published = the city has not published this
card-what = What it is
card-why = Why it is there
card-who = Who is accountable
card-contact = Contact
card-vendor = Vendor
card-data = What data it collects
card-personal = Personal data
card-processing = How the data is processed
card-access = Who can access the data
card-storage = Where the data is stored
card-retention = How long it is kept
card-status = Status
card-pilot = Pilot dates
card-links = More information
personal-yes = yes, it processes personal data
personal-no = no personal data
retention-days = { $days ->
    [one] { $days } day
   *[other] { $days } days
}
# A period that is a whole number of years or months, with its exact days after it.
retention-years = { $years ->
    [one] { $years } year
   *[other] { $years } years
} ({ $days } days)
retention-months = { $months ->
    [one] { $months } month
   *[other] { $months } months
} ({ $days } days)
retention-none = nothing is kept
status-proposed = proposed
status-pilot = pilot
status-active = active
status-paused = paused
status-retired = retired
distance-metres = { $metres } m away
distance-km = { NUMBER($km, minimumFractionDigits: 1, maximumFractionDigits: 1) } km away
