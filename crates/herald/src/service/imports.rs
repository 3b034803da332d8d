//! Whole-page writes that are not domain commands: a data file imported, page settings
//! written over the stored ones. Both show on the public page at once.

use super::access::Actor;
use super::{Effect, Service, ServiceResult};
use herald_core::datafile::DataFile;
use herald_core::PageSettings;
use herald_store::{ImportOptions, ImportReport};

impl Service {
    /// Writes the page a data file describes (one transaction; the same file again changes
    /// nothing). Its monitors and automation are re-read too.
    pub async fn import(
        &self,
        actor: &Actor,
        file: DataFile,
        options: &ImportOptions,
    ) -> ServiceResult<ImportReport> {
        let report = self.store.import(file, self.now(), options).await?;
        tracing::info!(%actor, written = report.written, unchanged = report.unchanged, "imported a data file");
        self.after(Effect::Monitoring).await;
        self.after(Effect::Page).await;
        Ok(report)
    }

    /// Creates or replaces the page settings.
    pub async fn save_page_settings(
        &self,
        actor: &Actor,
        settings: &PageSettings,
    ) -> ServiceResult<()> {
        self.store.save_page_settings(settings, self.now()).await?;
        tracing::info!(%actor, page = %settings.id, "saved the page settings");
        self.after(Effect::Page).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Branding;
    use crate::service::system_clock;
    use herald_core::datafile::Format;

    #[tokio::test]
    async fn an_import_and_new_settings_are_on_the_page_when_the_call_returns() {
        let (store, _dir) = herald_store::testing::sqlite_store().await;
        let s = Service::new(store, Branding::default(), system_clock());
        let file = DataFile::parse(
            "version = 1\n[page]\nid = \"pagepagepage\"\nname = \"Acme\"\n\
             url = \"https://status.acme.test\"\ntime_zone = \"UTC\"\n",
            Format::Toml,
        )
        .expect("file");
        let cli = Actor::System("cli");
        let report = s
            .import(&cli, file.clone(), &Default::default())
            .await
            .expect("imported");
        assert_eq!(report.written, 1);
        assert_eq!(s.site.page_url(), "https://status.acme.test");
        let again = s
            .import(&cli, file, &Default::default())
            .await
            .expect("again");
        assert_eq!((again.written, again.unchanged), (0, 1));

        let mut settings = s.store.load().await.expect("load").expect("page").page;
        settings.url = "https://status.example.test".into();
        s.save_page_settings(&Actor::System("config"), &settings)
            .await
            .expect("saved");
        assert_eq!(s.site.page_url(), "https://status.example.test");
    }
}
