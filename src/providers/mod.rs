//! Providers: the only code that talks to remote services. Today there is one, `dms`,
//! for the service tasks of the Azure Data Migration Service.

pub mod dms;
