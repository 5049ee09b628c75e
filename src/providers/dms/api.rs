//! The six service-task operations as a trait, so that the engine and the polling loop
//! can run against an in-memory fake as well as against [`DmsClient`].

use super::client::{DeleteOutcome, DmsClient, Expand, PutOutcome, ServiceRef};
use super::error::DmsError;
use super::models::{ProjectTask, TaskRequest};
use async_trait::async_trait;

/// The operations of `Microsoft.DataMigration/services/serviceTasks`.
#[async_trait]
pub trait ServiceTasks: Send + Sync {
    async fn create_or_update(
        &self,
        svc: &ServiceRef,
        task: &str,
        body: &TaskRequest,
    ) -> Result<PutOutcome, DmsError>;
    async fn get(
        &self,
        svc: &ServiceRef,
        task: &str,
        expand: Expand,
    ) -> Result<ProjectTask, DmsError>;
    async fn update(
        &self,
        svc: &ServiceRef,
        task: &str,
        body: &TaskRequest,
    ) -> Result<ProjectTask, DmsError>;
    async fn delete(
        &self,
        svc: &ServiceRef,
        task: &str,
        delete_running_tasks: bool,
    ) -> Result<DeleteOutcome, DmsError>;
    async fn cancel(&self, svc: &ServiceRef, task: &str) -> Result<ProjectTask, DmsError>;
    async fn list(
        &self,
        svc: &ServiceRef,
        task_type: Option<&str>,
    ) -> Result<Vec<ProjectTask>, DmsError>;
}

#[async_trait]
impl ServiceTasks for DmsClient {
    async fn create_or_update(
        &self,
        svc: &ServiceRef,
        task: &str,
        body: &TaskRequest,
    ) -> Result<PutOutcome, DmsError> {
        DmsClient::create_or_update(self, svc, task, body).await
    }
    async fn get(
        &self,
        svc: &ServiceRef,
        task: &str,
        expand: Expand,
    ) -> Result<ProjectTask, DmsError> {
        DmsClient::get(self, svc, task, expand).await
    }
    async fn update(
        &self,
        svc: &ServiceRef,
        task: &str,
        body: &TaskRequest,
    ) -> Result<ProjectTask, DmsError> {
        DmsClient::update(self, svc, task, body).await
    }
    async fn delete(
        &self,
        svc: &ServiceRef,
        task: &str,
        delete_running_tasks: bool,
    ) -> Result<DeleteOutcome, DmsError> {
        DmsClient::delete(self, svc, task, delete_running_tasks).await
    }
    async fn cancel(&self, svc: &ServiceRef, task: &str) -> Result<ProjectTask, DmsError> {
        DmsClient::cancel(self, svc, task).await
    }
    async fn list(
        &self,
        svc: &ServiceRef,
        task_type: Option<&str>,
    ) -> Result<Vec<ProjectTask>, DmsError> {
        DmsClient::list(self, svc, task_type).await
    }
}
