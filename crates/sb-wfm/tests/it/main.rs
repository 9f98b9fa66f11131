//! Integration tests of sb-wfm on real data: the forecasting targets on the development arrival
//! series (a bank call centre, hourly, first half of 1999, kept beside the repository).

mod forecast_dev;
